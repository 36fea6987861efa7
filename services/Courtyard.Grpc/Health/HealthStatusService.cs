using global::Grpc.Health.V1;
using Microsoft.Extensions.Hosting;
using ServingStatus = global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Courtyard.Grpc;

/// <summary>
/// The statuses that grpc.health.v1.Health reports. "" is the server as a whole. MapGrpcServices sets "" and every mapped
/// service to SERVING; when the application starts stopping, everything turns NOT_SERVING so probes drain traffic.
/// </summary>
public sealed class HealthStatusService
{
    private readonly object _gate = new();
    private readonly Dictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = NewSignal();

    public HealthStatusService(IHostApplicationLifetime? lifetime = null)
    {
        lifetime?.ApplicationStopping.Register(() => SetAll(ServingStatus.NotServing));
    }

    public void SetStatus(string service, ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (_statuses.TryGetValue(service, out var current) && current == status)
            {
                return;
            }
            _statuses[service] = status;
            changed = _changed;
            _changed = NewSignal();
        }
        changed.TrySetResult();
    }

    /// <summary>Forgets a service: Check answers NOT_FOUND, Watch SERVICE_UNKNOWN.</summary>
    public void ClearStatus(string service)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (!_statuses.Remove(service))
            {
                return;
            }
            changed = _changed;
            _changed = NewSignal();
        }
        changed.TrySetResult();
    }

    public bool TryGetStatus(string service, out ServingStatus status)
    {
        lock (_gate)
        {
            return _statuses.TryGetValue(service, out status);
        }
    }

    public IReadOnlyDictionary<string, ServingStatus> GetAll()
    {
        lock (_gate)
        {
            return new Dictionary<string, ServingStatus>(_statuses);
        }
    }

    /// <summary>The status now (SERVICE_UNKNOWN if unknown) and a task that completes at the next change of any status.</summary>
    internal (ServingStatus Status, Task Changed) Observe(string service)
    {
        lock (_gate)
        {
            return (_statuses.TryGetValue(service, out var status) ? status : ServingStatus.ServiceUnknown, _changed.Task);
        }
    }

    private void SetAll(ServingStatus status)
    {
        foreach (var service in GetAll().Keys)
        {
            SetStatus(service, status);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
