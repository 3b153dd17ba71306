using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;

namespace McpMultiProxy.Tests.Admin;

/// <summary>Plain HTTP against a running proxy's admin API: JSON in, status code and JSON out.</summary>
public sealed class AdminApiClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminApiClient(ProxyProcess proxy)
    {
        BaseAddress = new Uri(proxy.Url ?? throw new InvalidOperationException("The proxy must serve HTTP."), "/");
        _http = new HttpClient { BaseAddress = BaseAddress, Timeout = McpTestClient.TestTimeout };
    }

    /// <summary>The proxy's root: the web console is here, the API under /api, metrics at /metrics.</summary>
    public Uri BaseAddress { get; }

    public HttpClient Http => _http;

    public Task<(HttpStatusCode Status, JsonNode? Body)> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(string path, object? body = null) =>
        SendAsync(HttpMethod.Post, path, body is null ? "" : body is string text ? text : System.Text.Json.JsonSerializer.Serialize(body));

    public Task<(HttpStatusCode Status, JsonNode? Body)> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    /// <summary>Sends <paramref name="body"/> as it is, with the given content type (null: no content type).</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? body, string? contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = contentType is null ? null : new MediaTypeHeaderValue(contentType);
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>
    /// Polls GET /api/backends/{name} until its state is <paramref name="state"/>; for <c>healthy</c>, also until its
    /// tools are in the catalog (the state flips a moment before the catalog is rebuilt).
    /// </summary>
    public async Task<JsonNode> WaitForStateAsync(string name, string state, TimeSpan? timeout = null, int minRestarts = 0)
    {
        var deadline = DateTime.UtcNow + (timeout ?? McpTestClient.TestTimeout);
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var (status, body) = await GetAsync($"/api/backends/{name}");
            last = body;
            if (status == HttpStatusCode.OK && body?["state"]?.GetValue<string>() == state && (state != "healthy" || body["tools"]!.GetValue<int>() > 0)
                && body["restarts"]!.GetValue<int>() >= minRestarts)
            {
                return body;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"'{name}' did not become {state}; last seen: {last?.ToJsonString()}");
    }

    public void Dispose() => _http.Dispose();
}
