using System.Security.Cryptography;
using System.Text;
using ConfigSync.Configuration;
using ConfigSync.Http;
using Microsoft.AspNetCore.Http;

namespace ConfigSync.Tests.Http;

public sealed class WebhookVerifierTests
{
    private static readonly byte[] Secret = "s3cret"u8.ToArray();
    private static readonly WebhookSettings Settings = new() { SecretFile = "/unused" };

    [Fact]
    public void GitHubFormEncodedPush_IsVerifiedOnTheRawBody_AndTheRefIsReadFromThePayloadField()
    {
        var body = "payload=" + Uri.EscapeDataString("""{"ref":"refs/tags/v2","repository":{"default_branch":"main"}}""");
        string? seenRef = null;
        string? seenBranch = null;

        var outcome = Check(body, "application/x-www-form-urlencoded", (r, b) => { seenRef = r; seenBranch = b; return true; }, ("X-GitHub-Event", "push"), ("X-Hub-Signature-256", "sha256=" + Sign(body)));

        Assert.Equal(WebhookVerdict.Accepted, outcome.Verdict);
        Assert.Equal("refs/tags/v2", seenRef);
        Assert.Equal("main", seenBranch);
    }

    [Fact]
    public void GitHubSignatureWithoutItsPrefix_OrOfAnotherBody_IsUnauthorized()
    {
        const string Body = """{"ref":"refs/heads/main"}""";

        Assert.Equal(WebhookVerdict.Unauthorized, Check(Body, "application/json", (_, _) => true, ("X-GitHub-Event", "push"), ("X-Hub-Signature-256", Sign(Body))).Verdict);
        Assert.Equal(WebhookVerdict.Unauthorized, Check(Body, "application/json", (_, _) => true, ("X-GitHub-Event", "push"), ("X-Hub-Signature-256", "sha256=" + Sign(Body + " "))).Verdict);
        Assert.Equal(WebhookVerdict.Unauthorized, Check(Body, "application/json", (_, _) => true, ("X-GitHub-Event", "push"), ("X-Hub-Signature-256", "sha256=zz")).Verdict);
    }

    [Fact]
    public void AuthenticPushThatIsNotJson_IsInvalid_ButAGenericDeliveryWithoutRefTriggers()
    {
        var github = Check("not json", "application/json", (_, _) => true, ("X-GitHub-Event", "push"), ("X-Hub-Signature-256", "sha256=" + Sign("not json")));
        var generic = Check("not json", "text/plain", (_, _) => false, ("X-Signature-256", Sign("not json")));
        var gitlabNote = Check("{}", "application/json", (_, _) => true, ("X-Gitlab-Event", "Note Hook"), ("X-Gitlab-Token", "s3cret"));

        Assert.Equal(WebhookVerdict.Invalid, github.Verdict);
        Assert.Equal(WebhookVerdict.Accepted, generic.Verdict);
        Assert.Equal(WebhookVerdict.Ignored, gitlabNote.Verdict);
        Assert.Equal("event 'Note Hook' is not a push", gitlabNote.Reason);
    }

    private static WebhookOutcome Check(string body, string contentType, Func<string, string?, bool> matches, params (string Name, string Value)[] headers)
    {
        var dictionary = new HeaderDictionary();
        foreach (var (name, value) in headers)
        {
            dictionary[name] = value;
        }

        return WebhookVerifier.Check(Settings, Secret, dictionary, contentType, Encoding.UTF8.GetBytes(body), matches);
    }

    private static string Sign(string body) => Convert.ToHexStringLower(HMACSHA256.HashData(Secret, Encoding.UTF8.GetBytes(body)));
}
