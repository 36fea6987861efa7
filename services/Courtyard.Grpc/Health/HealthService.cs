using global::Grpc.Health.V1;
using ServingStatus = global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Courtyard.Grpc.Health;

/// <summary>grpc.health.v1.Health over <see cref="HealthStatusService"/>.</summary>
internal sealed class HealthService(HealthStatusService statuses)
{
    public Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        if (!statuses.TryGetStatus(request.Service, out var status))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"Unknown service '{request.Service}'."));
        }
        return Task.FromResult(new HealthCheckResponse { Status = status });
    }

    public Task<HealthListResponse> List(HealthListRequest request, ServerCallContext context)
    {
        var response = new HealthListResponse();
        foreach (var (service, status) in statuses.GetAll())
        {
            response.Statuses.Add(service, new HealthCheckResponse { Status = status });
        }
        return Task.FromResult(response);
    }

    public async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responses, ServerCallContext context)
    {
        var token = context.CancellationToken;
        ServingStatus? sent = null;
        while (!token.IsCancellationRequested)
        {
            var (status, changed) = statuses.Observe(request.Service);
            if (status != sent)
            {
                await responses.WriteAsync(new HealthCheckResponse { Status = status }).ConfigureAwait(false);
                sent = status;
            }
            await changed.WaitAsync(token).ConfigureAwait(false);
        }
    }
}
