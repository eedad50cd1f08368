// An independent SOPS decryptor for the tests (sops-age, with its own age implementation): decrypts the file named by
// the first argument, of the type given by the second (yaml, json or env), with the age identity in the environment
// variable SOPS_AGE_KEY, and prints the decrypted data as JSON. It does not check the MAC; ConfigSync's tests do.
import { readFileSync } from "node:fs";
import { decryptSops } from "sops-age";

const [file, fileType] = process.argv.slice(2);
const data = await decryptSops(readFileSync(file, "utf8"), { secretKey: process.env.SOPS_AGE_KEY, fileType });
process.stdout.write(JSON.stringify(data));
