"""A BrokerTestCase whose broker is reached through a FaultProxy (integration/fault_proxy.py).

Each test gets self.proxy and self.broker: the proxy binds its port first, then the broker
starts on its own port advertising the proxy's (advertised.listeners), so every connection a
client makes after bootstrap goes through the proxy too. broker.kill(); broker.start() keeps
both ports; the proxy resets clients while the broker is down.

RUNNEL_PROXY_SEED replays a run's faults (the seed is printed at the start of each test).
"""

import os
import sys
import time

from broker_process import BrokerTestCase, free_port
from fault_proxy import FaultProxy


def proxy_seed():
    seed = os.environ.get("RUNNEL_PROXY_SEED")
    return int(seed) if seed else int(time.time() * 1000) % 1000000


class ProxiedBrokerTestCase(BrokerTestCase):
    per_test_broker = True
    proxy = None

    def start_broker(self, **kw):
        port = kw.pop("port", None) or free_port()
        seed = proxy_seed()
        self.proxy = FaultProxy(("127.0.0.1", port), seed=seed).start()
        self.addCleanup(self.proxy.stop)
        sys.stderr.write("\n[%s] fault proxy %s -> 127.0.0.1:%d, seed %d "
                         "(RUNNEL_PROXY_SEED=%d to replay)\n" % (
                             self._testMethodName, self.proxy.address, port, seed, seed))
        props = dict(kw.pop("properties", self.broker_properties))
        props["advertised.listeners"] = self.proxy.advertised_listener
        return super().start_broker(port=port, properties=props, **kw)
