using System.Diagnostics;

namespace Courtyard.Grpc.Server;

/// <summary>One Activity per call (server and client) on the "Courtyard.Grpc" source, with the rpc.* semantic-convention tags.</summary>
internal static class GrpcTelemetry
{
    public const string SourceName = "Courtyard.Grpc";

    public static readonly ActivitySource Source = new(SourceName, "1.0.0");

    public static Activity? StartServerActivity(ServerMethodSettings method) => Start(method.SpanName, ActivityKind.Server, method.ServiceName, method.MethodName);

    public static Activity? StartClientActivity(IMethod method) => Start(method.FullName.Substring(1), ActivityKind.Client, method.ServiceName, method.Name);

    private static Activity? Start(string name, ActivityKind kind, string service, string method)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        var activity = Source.StartActivity(name, kind);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "grpc");
            activity.SetTag("rpc.service", service);
            activity.SetTag("rpc.method", method);
        }
        return activity;
    }

    public static void SetStatus(Activity activity, StatusCode code)
    {
        activity.SetTag("rpc.grpc.status_code", (int)code);
        if (code != StatusCode.OK)
        {
            activity.SetStatus(ActivityStatusCode.Error, code.ToString());
        }
    }
}
