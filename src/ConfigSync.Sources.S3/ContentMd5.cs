using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;

namespace ConfigSync.Sources.S3;

/// <summary>
/// Checks a downloaded body against its ETag where the ETag is the body's MD5: a single-part upload
/// without SSE-KMS or SSE-C (what the SDK checks on a whole-object GET, done here with the platform's
/// MD5 instead of the SDK's managed one).
/// </summary>
internal sealed class ContentMd5 : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly byte[] _expected;

    private ContentMd5(byte[] expected) => _expected = expected;

    /// <summary>The check for <paramref name="response"/>, or null when its ETag is not an MD5 of the body.</summary>
    public static ContentMd5? For(GetObjectResponse response)
    {
        var etag = (response.ETag ?? string.Empty).Trim('"');
        var encrypted = !string.IsNullOrEmpty(response.ServerSideEncryptionKeyManagementServiceKeyId)
            || (response.ServerSideEncryptionCustomerMethod is { } customer && customer != ServerSideEncryptionCustomerMethod.None);
        if (encrypted || etag.Length != 32 || !etag.All(Uri.IsHexDigit))
        {
            return null;
        }

        return new ContentMd5(Convert.FromHexString(etag));
    }

    public void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

    public bool Matches() => CryptographicOperations.FixedTimeEquals(_hash.GetHashAndReset(), _expected);

    public void Dispose() => _hash.Dispose();
}
