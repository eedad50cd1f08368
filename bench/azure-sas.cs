#:package Azure.Storage.Blobs
// Prints an account SAS URL (read, write, list, create, delete on containers and blobs, one day) for
// the account of CONNECTION_STRING and creates CONTAINER: rclone 1.60 reaches Azurite only this way.
//   dotnet run bench/azure-sas.cs -- CONNECTION_STRING CONTAINER
using Azure.Storage.Blobs;
using Azure.Storage.Sas;

var service = new BlobServiceClient(args[0]);
await service.GetBlobContainerClient(args[1]).CreateIfNotExistsAsync();
var sas = service.GenerateAccountSasUri(
    AccountSasPermissions.Read | AccountSasPermissions.Write | AccountSasPermissions.List | AccountSasPermissions.Create | AccountSasPermissions.Delete,
    DateTimeOffset.UtcNow.AddDays(1),
    AccountSasResourceTypes.Container | AccountSasResourceTypes.Object | AccountSasResourceTypes.Service);
Console.WriteLine(sas);
