using Courtyard.Directory.Audit;
using Courtyard.Directory.Tests.Support;
using Courtyard.Directory.V1;
using Courtyard.Events;
using Courtyard.Events.Inbox;
using Courtyard.Testing.Services;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Directory.Tests.Audit;

/// <summary>
/// An audit entry is committed with the change it records (an outbox row of the change's own transaction) and appended to
/// its chain by Directory's own handler, exactly once however often it is delivered.
/// </summary>
public abstract class AuditTrailTests(TestStorage storage) : DirectoryScenario(storage)
{
    public sealed class OnSqlite() : AuditTrailTests(TestStorage.Sqlite);

    public sealed class OnPostgres() : AuditTrailTests(TestStorage.Postgres);

    [Fact]
    public async Task A_role_grant_commits_its_audit_entry_with_it_and_the_chain_gets_it_once()
    {
        var account = await Host.Client().CreateStaffAccountAsync(new CreateStaffAccountRequest
        {
            RequestId = Calls.NewRequestId(), ScopeId = Territory.CommunityId, Login = "worker" + Guid.NewGuid().ToString("N")[..6], DisplayName = "周慧",
        }, AdminHeaders);
        var grant = await Host.Client().GrantRoleAsync(new GrantRoleRequest
        {
            RequestId = Calls.NewRequestId(), AccountId = account.AccountId, Role = Role.SocialWorker, ScopeId = Territory.CommunityId,
        }, AdminHeaders);

        // Committed with the grant, beside its RoleGranted.
        var facts = await Host.CommittedEventsAsync<AuditFactRecorded>();
        Assert.Single(facts, f => f.Kind == AuditKind.RoleGranted && f.SubjectId == grant.Id && f.ChainId == Territory.CommunityId);
        var entries = (await Host.AuditEntriesAsync(Territory.CommunityId, AdminHeaders)).Entries;
        Assert.Single(entries, e => e.Kind == AuditKind.RoleGranted && e.SubjectId == grant.Id);
    }

    [Fact]
    public async Task Two_racing_deliveries_of_one_audit_fact_append_one_entry()
    {
        var before = (await Host.AuditEntriesAsync(Territory.OwnCourtyardId, AdminHeaders)).LastSequence;
        var fact = new AuditFactRecorded
        {
            ChainId = Territory.OwnCourtyardId, Kind = AuditKind.RoleRevoked, ActorId = "ac_someone", SubjectId = "rg_x.1",
            At = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        var row = EventCatalog.ToOutbox(Territory.OwnCourtyardId, fact);
        var delivered = new CloudEvent
        {
            Id = "directory-race-" + Guid.NewGuid().ToString("N"), Source = DirectoryOptions.ServiceName, Type = row.EventType,
            Subject = Territory.OwnCourtyardId, Time = DateTimeOffset.UtcNow, Data = row.Payload,
        };
        var bus = Host.Services.GetRequiredKeyedService<EventBus>(DirectoryOptions.ServiceName);

        var outcomes = await bus.DeliverConcurrentlyAsync(AuditTrail.Consumer, delivered);

        Assert.Equal(1, outcomes.Count(o => o == HandleOutcome.Handled));
        var after = await Host.AuditEntriesAsync(Territory.OwnCourtyardId, AdminHeaders);
        Assert.Equal(before + 1, after.LastSequence);
        Assert.Single(after.Entries, e => e.SubjectId == "rg_x.1");
        Assert.True((await Host.Client().VerifyAuditLogAsync(new VerifyAuditLogRequest { ChainId = Territory.OwnCourtyardId }, AdminHeaders)).Intact);
    }
}
