#:package Azure.Storage.Blobs
// Seeds a container for bench/azure-bench.sh: COUNT blobs of 1 KiB under PREFIX in 20 "folders",
// 16 uploads at a time; or, with "change", replaces one blob.
//   dotnet run bench/azure-seed.cs -- CONNECTION_STRING CONTAINER PREFIX COUNT|change
using Azure.Storage.Blobs;

var container = new BlobServiceClient(args[0]).GetBlobContainerClient(args[1]);
// Public read, so the benchmark can measure the server alone with curl.
await container.CreateIfNotExistsAsync(Azure.Storage.Blobs.Models.PublicAccessType.BlobContainer);
if (args[3] == "change")
{
    await container.GetBlobClient($"{args[2]}/dir7/file42.yaml").UploadAsync(BinaryData.FromString("change " + Guid.NewGuid()), overwrite: true);
    return;
}

var count = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
{
    var content = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(768));
    await container.GetBlobClient($"{args[2]}/dir{i / 100}/file{i % 100}.yaml").UploadAsync(BinaryData.FromString(content), overwrite: true, ct);
});
