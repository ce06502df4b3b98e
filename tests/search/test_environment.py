"""A local Ray session must stay on loopback (no address of the machine's network, no probing)."""

import subprocess
import sys

CHECK = r"""
import ray  # imported first on purpose: the switch must still take effect
from cpt_search.search.environment import ray_session
with ray_session():
    nodes = [n["NodeManagerAddress"] for n in ray.nodes()]
    print(ray.util.get_node_ip_address(), ",".join(nodes))
"""


def test_local_ray_binds_to_loopback_only():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=180,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert out.returncode == 0, out.stderr[-2000:]
    node_ip, node_addresses = out.stdout.split()[-2:]
    assert node_ip == "127.0.0.1"
    assert set(node_addresses.split(",")) == {"127.0.0.1"}
