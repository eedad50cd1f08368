using System.Net;
using ConfigSync.Http;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.Tests.Http;

public sealed class TriggerAuthorizationTests : IDisposable
{
    private static readonly IPAddress Remote = IPAddress.Parse("10.1.2.3");
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Check_Loopback_WithoutToken_IsAccepted()
    {
        var authorization = new TriggerAuthorization(null);

        Assert.Equal(202, authorization.Check(IPAddress.Loopback, null));
        Assert.Equal(202, authorization.Check(IPAddress.IPv6Loopback, null));
        Assert.Equal(202, authorization.Check(IPAddress.Loopback.MapToIPv6(), null));
    }

    [Fact]
    public void Check_RemoteWithoutConfiguredToken_IsForbidden() =>
        Assert.Equal(403, new TriggerAuthorization(null).Check(Remote, "Bearer anything"));

    [Fact]
    public void Check_RemoteWithToken_NeedsTheRightBearer()
    {
        var authorization = new TriggerAuthorization(_temp.Write("token", "s3cret\n"));

        Assert.Equal(401, authorization.Check(Remote, null));
        Assert.Equal(401, authorization.Check(Remote, "Bearer wrong"));
        Assert.Equal(401, authorization.Check(Remote, "Basic s3cret"));
        Assert.Equal(202, authorization.Check(Remote, "Bearer s3cret"));
    }

    [Fact]
    public void Check_RotatedTokenFile_IsReadAgain()
    {
        var file = _temp.Write("token", "old");
        var authorization = new TriggerAuthorization(file);
        Assert.Equal(202, authorization.Check(Remote, "Bearer old"));

        File.WriteAllText(file, "new");

        Assert.Equal(401, authorization.Check(Remote, "Bearer old"));
        Assert.Equal(202, authorization.Check(Remote, "Bearer new"));
    }

    [Fact]
    public void Check_LoopbackWithWrongToken_IsRefused() =>
        Assert.Equal(401, new TriggerAuthorization(_temp.Write("token", "right")).Check(IPAddress.Loopback, "Bearer wrong"));
}
