using System.Text.Json;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;

namespace ConfigSync.Signaling;

/// <summary>
/// Asks the app whether it applied a revision: GETs <c>signal.verify.url</c> every interval until the
/// answer reports the revision (a JSON field or a header equal to it, or a short SHA it starts with;
/// with neither set, any 2xx answer) or the timeout passes.
/// </summary>
internal sealed class ReloadVerifier(HttpClient http, ReloadVerifySettings settings, TimeProvider time)
{
    /// <summary>Returns null once the app reports <paramref name="revision"/>, else the last reason it did not.</summary>
    public async Task<string?> VerifyAsync(string revision, CancellationToken cancellationToken)
    {
        var url = RevisionTemplate.ExpandUrl(settings.Url, revision);
        var deadline = time.GetUtcNow() + settings.Timeout;
        var problem = "no answer yet";
        while (true)
        {
            using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                attempt.CancelAfter(Max(TimeSpan.FromMilliseconds(100), deadline - time.GetUtcNow()));
                try
                {
                    problem = await CheckOnceAsync(url, revision, attempt.Token);
                    if (problem is null)
                    {
                        return null;
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    problem = "the request timed out";
                }
                catch (HttpRequestException e)
                {
                    problem = Errors.Describe(e);
                }
            }

            if (time.GetUtcNow() + settings.Interval > deadline)
            {
                return $"{Redact.Url(url.ToString())} did not report revision {revision} within {DurationParser.Format(settings.Timeout)}: {problem}";
            }

            await Task.Delay(settings.Interval, time, cancellationToken);
        }
    }

    private async Task<string?> CheckOnceAsync(Uri url, string revision, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var status = (int)response.StatusCode;
        if (status is < 200 or > 299)
        {
            return $"answered {status}";
        }

        if (settings.Header is { } header)
        {
            var value = response.Headers.TryGetValues(header, out var values) ? values.FirstOrDefault()
                : response.Content.Headers.TryGetValues(header, out var contentValues) ? contentValues.FirstOrDefault() : null;
            return Reports(value, revision) ? null : $"header {header} is {(value is null ? "missing" : $"'{value}'")}";
        }

        if (settings.Field is { } field)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            string? value;
            try
            {
                value = Find(JsonDocument.Parse(body).RootElement, field);
            }
            catch (JsonException)
            {
                return "the answer is not JSON";
            }

            return Reports(value, revision) ? null : $"field {field} is {(value is null ? "missing" : $"'{value}'")}";
        }

        return null;
    }

    private static bool Reports(string? value, string revision)
    {
        value = value?.Trim();
        return value is not null && (value == revision || (value.Length >= 7 && revision.StartsWith(value, StringComparison.OrdinalIgnoreCase)));
    }

    private static string? Find(JsonElement element, string path)
    {
        foreach (var name in path.Split('.'))
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return null;
            }
        }

        return element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
            _ => null,
        };
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
