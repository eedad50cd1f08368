using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files: servers in the
/// tests serve TLS with it, and the daemon trusts it through SSL_CERT_FILE (which .NET on Linux
/// honours, as OpenSSL does).
/// </summary>
public sealed class TestCertificate : IDisposable
{
    public TestCertificate(string folder)
    {
        Directory.CreateDirectory(folder);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=configsync-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        CertificateFile = Path.Combine(folder, "cert.pem");
        KeyFile = Path.Combine(folder, "key.pem");
        File.WriteAllText(CertificateFile, created.ExportCertificatePem());
        File.WriteAllText(KeyFile, key.ExportPkcs8PrivateKeyPem());
        Certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    public string CertificateFile { get; }

    public string KeyFile { get; }

    public X509Certificate2 Certificate { get; }

    public void Dispose() => Certificate.Dispose();
}
