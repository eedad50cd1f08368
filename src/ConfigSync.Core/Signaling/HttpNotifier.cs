using System.Net.Http.Headers;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;

namespace ConfigSync.Signaling;

/// <summary>Calls the app's reload URL with the payload as JSON.</summary>
internal sealed class HttpNotifier(HttpClient client, SignalSettings settings) : INotifier
{
    public string Describe => Redact.Url(settings.Url!.ToString());

    public async Task NotifyAsync(SignalPayload payload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(new HttpMethod(settings.Method), settings.Url);
        foreach (var (name, value) in settings.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, payload.Expand(value));
        }

        request.Headers.TryAddWithoutValidation("ConfigSync-Sync", payload.Sync);
        request.Headers.TryAddWithoutValidation("ConfigSync-Revision", payload.Revision);
        if (settings.Method != "GET")
        {
            request.Content = new ByteArrayContent(payload.ToJson());
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var status = (int)response.StatusCode;
        var accepted = settings.SuccessStatus.Count == 0 ? status is >= 200 and < 300 : settings.SuccessStatus.Contains(status) || settings.SuccessStatus.Contains(0);
        if (!accepted)
        {
            throw new SignalException($"{Describe} answered {status}");
        }
    }
}
