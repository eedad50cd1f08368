using System.Security.Cryptography;
using ConfigSync.Sources;

namespace ConfigSync.Tests.Sources;

/// <summary>The copy of a downloaded body with the store's MD5 checked on the way.</summary>
public sealed class CheckedCopyTests
{
    private static readonly byte[] Body = [.. Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7))];

#pragma warning disable CA5351 // MD5 is what S3 ETags and Azure's Content-MD5 are: an integrity check, not security.
    private static readonly byte[] BodyMd5 = MD5.HashData(Body);
#pragma warning restore CA5351

    [Fact]
    public async Task MatchingMd5_CopiesEveryByte_AndReportsAMatch()
    {
        using var destination = new MemoryStream();

        Assert.True(await CheckedCopy.CopyAsync(new MemoryStream(Body), destination, Body.Length, BodyMd5, CancellationToken.None));
        Assert.Equal(Body, destination.ToArray());
    }

    [Fact]
    public async Task OneByteDifferent_IsReportedAsAMismatch()
    {
        var changed = Body.ToArray();
        changed[150_000] ^= 1;
        using var destination = new MemoryStream();

        Assert.False(await CheckedCopy.CopyAsync(new MemoryStream(changed), destination, changed.Length, BodyMd5, CancellationToken.None));
    }

    [Fact]
    public async Task NoMd5_CopiesWithoutChecking()
    {
        using var destination = new MemoryStream();

        Assert.True(await CheckedCopy.CopyAsync(new MemoryStream(Body), destination, -1, null, CancellationToken.None));
        Assert.Equal(Body.Length, destination.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_000)]
    public async Task BodyLargerThanListed_IsStillCopiedWhole_AndChecked(long listed)
    {
        // The listing is older than the body (the object grew): the buffer sized from it is only a start.
        using var destination = new MemoryStream();

        Assert.True(await CheckedCopy.CopyAsync(new MemoryStream(Body), destination, listed, BodyMd5, CancellationToken.None));
        Assert.Equal(Body, destination.ToArray());
    }
}
