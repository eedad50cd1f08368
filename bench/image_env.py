"""The runtime settings the image gives ConfigSync (the DOTNET_* variables of docker/Dockerfile's ENV),
so the benchmarks run the daemon as the image does."""
import os, re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def image_env():
    with open(os.path.join(ROOT, "docker", "Dockerfile")) as f:
        lines = [line for line in f if not line.lstrip().startswith("#")]
    return dict(re.findall(r"\b(DOTNET_\w+)=(\S+)", "".join(lines)))
