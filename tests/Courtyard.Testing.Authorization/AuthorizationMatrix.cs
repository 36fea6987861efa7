using Courtyard.Authorization.Access;
using Courtyard.Authorization.Claims;
using Courtyard.Authorization.Enforcement;
using Courtyard.Directory.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Courtyard.Testing.Authorization;

/// <summary>Where a call reaches, seen from a caller whose roles are held in the own courtyard (or its community or street).</summary>
public enum MatrixPlace
{
    /// <summary>The caller's own courtyard.</summary>
    Own,

    /// <summary>Another courtyard of the same community (and street).</summary>
    Sibling,

    /// <summary>A courtyard of another street.</summary>
    Other,
}

/// <summary>The territory a matrix runs in: the service under test must know these nodes' places (street, community).</summary>
public sealed record MatrixTerritory(string StreetId, string CommunityId, string OwnCourtyardId, string SiblingCourtyardId, string OtherCourtyardId)
{
    public string CourtyardAt(MatrixPlace place) => place switch
    {
        MatrixPlace.Own => OwnCourtyardId,
        MatrixPlace.Sibling => SiblingCourtyardId,
        _ => OtherCourtyardId,
    };
}

/// <summary>
/// Checks a service's authorization against its declaration: every RPC of the service's descriptor (an RPC without a
/// rule fails the run) × every role and no token at all × the own courtyard, a sibling courtyard of the same community,
/// and a courtyard of another street. Each call must end as declared: allowed (any status the handler chose), or
/// stopped by authorization with UNAUTHENTICATED or PERMISSION_DENIED (<see cref="RpcAccessInterceptor.DecisionTrailer"/>).
/// The expected outcome is worked out here, independently of the enforcing code: a courtyard role covers the own
/// courtyard; a community or street role covers the own and the sibling courtyard; platform admin covers all three.
/// </summary>
public sealed class AuthorizationMatrix
{
    public required RpcAccessTable Table { get; init; }
    public required CallInvoker Invoker { get; init; }
    public required TestTokens Tokens { get; init; }
    public required MatrixTerritory Territory { get; init; }

    /// <summary>An id of a scope resolver's kind ("courtyard", "territory", "household", …) in the courtyard of a place.</summary>
    public required Func<string, MatrixPlace, string> SampleId { get; init; }

    /// <summary>Fills fields a request needs besides its scope (optional).</summary>
    public Action<MethodDescriptor, IMessage>? Prepare { get; init; }

    /// <summary>Roles and where each is held; by default each role at the level it belongs to (see the type's summary).</summary>
    public Func<Role, string> GrantScopeOf { get; init; } = _ => "";

    /// <summary>Runs every combination; returns one line per mismatch (empty when the service does exactly what it declares).</summary>
    public async Task<IReadOnlyList<string>> RunAsync(TimeSpan? callTimeout = null)
    {
        var mismatches = new List<string>();
        foreach (var method in Table.Service.Methods)
        {
            if (!Table.Rules.TryGetValue(method.Name, out var rule))
            {
                mismatches.Add($"{method.FullName}: no access rule declared");
                continue;
            }
            if (method.IsClientStreaming)
            {
                mismatches.Add($"{method.FullName}: client-streaming RPCs are not covered by the matrix; test them by hand");
                continue;
            }
            foreach (var place in Enum.GetValues<MatrixPlace>())
            {
                foreach (Role? role in RoleNames.All.Cast<Role?>().Prepend(null))
                {
                    var expected = Expect(rule, role, place);
                    var actual = await CallAsync(method, rule, role, place, callTimeout ?? TimeSpan.FromSeconds(20));
                    if (actual.Outcome != expected)
                    {
                        mismatches.Add($"{method.Name} as {(role is null ? "no token" : RoleNames.Of(role.Value))} on the {place.ToString().ToLowerInvariant()} courtyard: " +
                            $"expected {expected}, got {actual.Outcome} ({actual.Status.StatusCode}: {actual.Status.Detail})");
                    }
                }
            }
        }
        return mismatches;
    }

    public enum Outcome { Allowed, Unauthenticated, PermissionDenied }

    private static Outcome Expect(RpcAccessRule rule, Role? role, MatrixPlace place)
    {
        if (rule.Kind == RpcAccessKind.Anonymous)
        {
            return Outcome.Allowed;
        }
        if (role is null)
        {
            return Outcome.Unauthenticated;
        }
        if (rule.Kind == RpcAccessKind.SignedIn)
        {
            return Outcome.Allowed;
        }
        if (!rule.Roles.Contains(role.Value))
        {
            return Outcome.PermissionDenied;
        }
        bool covers = Level(role.Value) switch
        {
            "platform" => true,
            "courtyard" => place == MatrixPlace.Own,
            _ => place != MatrixPlace.Other,
        };
        return covers ? Outcome.Allowed : Outcome.PermissionDenied;
    }

    /// <summary>Where the matrix grants each role: its natural level.</summary>
    private static string Level(Role role) => role switch
    {
        Role.PlatformAdmin => "platform",
        Role.SocialWorker or Role.CommunityOfficial or Role.OrganizationMember => "community",
        Role.StreetOfficial => "street",
        _ => "courtyard",
    };

    private string ScopeOf(Role role) => Level(role) switch
    {
        "platform" => GrantClaim.Everywhere,
        "community" => Territory.CommunityId,
        "street" => Territory.StreetId,
        _ => Territory.OwnCourtyardId,
    };

    private async Task<(Outcome Outcome, Status Status)> CallAsync(MethodDescriptor method, RpcAccessRule rule, Role? role, MatrixPlace place, TimeSpan timeout)
    {
        var request = method.InputType.Parser.ParseFrom(ByteString.Empty);
        if (method.InputType.FindFieldByName("request_id") is { FieldType: FieldType.String } requestId)
        {
            requestId.Accessor.SetValue(request, Guid.NewGuid().ToString("N"));
        }
        Prepare?.Invoke(method, request);
        if (rule.ScopeField is { } field)
        {
            field.Accessor.SetValue(request, SampleId(rule.Resolver!.Kind, place));
        }
        var headers = new Metadata();
        if (role is { } held)
        {
            string account = "ac_matrix" + RoleNames.Of(held).Replace("_", "", StringComparison.Ordinal);
            headers.Add("authorization", "Bearer " + Tokens.Mint(account, [new GrantClaim(held, ScopeOf(held))]));
        }
        var options = new CallOptions(headers, DateTime.UtcNow + timeout);
        var marshaller = Marshallers.Create<IMessage>(m => m.ToByteArray(), _ => throw new NotSupportedException());
        var responses = Marshallers.Create<IMessage>(_ => throw new NotSupportedException(), bytes => method.OutputType.Parser.ParseFrom(bytes));
        try
        {
            if (method.IsServerStreaming)
            {
                var streaming = new Method<IMessage, IMessage>(MethodType.ServerStreaming, method.Service.FullName, method.Name, marshaller, responses);
                using var call = Invoker.AsyncServerStreamingCall(streaming, null, options, request);
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                }
            }
            else
            {
                var unary = new Method<IMessage, IMessage>(MethodType.Unary, method.Service.FullName, method.Name, marshaller, responses);
                await Invoker.AsyncUnaryCall(unary, null, options, request);
            }
            return (Outcome.Allowed, Status.DefaultSuccess);
        }
        catch (RpcException e)
        {
            string? decision = e.Trailers.GetValue(RpcAccessInterceptor.DecisionTrailer);
            var outcome = decision switch
            {
                null => Outcome.Allowed,
                "unauthenticated" => Outcome.Unauthenticated,
                _ => Outcome.PermissionDenied,
            };
            if (decision is not null && outcome == Outcome.Unauthenticated != (e.StatusCode == StatusCode.Unauthenticated))
            {
                throw new InvalidOperationException($"{method.Name}: decision \"{decision}\" came with status {e.StatusCode}.");
            }
            return (outcome, e.Status);
        }
    }
}
