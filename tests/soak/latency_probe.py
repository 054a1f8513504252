#!/usr/bin/python3
"""The soak test's dedicated GetDataset client, in a process of its own so
that the load clients' Python threads cannot stretch its timings.

It calls GetDataset in a loop until --stop-file exists and writes one line per
call to --out: "<start> <seconds> <status code name>", start on the
system-wide monotonic clock (time.monotonic() is comparable across processes
on Linux), so that soak_test.py can tell failures during a restart from
others.

usage: latency_probe.py --stubs DIR --address HOST:PORT --ca FILE --token TOKEN
                        --dataset ID --out FILE --stop-file FILE
"""
import argparse
import importlib
import os
import sys
import time


def reconnect(channel):
    """Asks the channel to connect now: after a failed connection, grpcio
    (1.51) otherwise fails calls for up to ~20 s though the node is back."""
    import grpc
    try:
        grpc.channel_ready_future(channel).result(timeout=0.2)
    except grpc.FutureTimeoutError:
        pass


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--stubs", "--address", "--ca", "--token", "--dataset", "--out", "--stop-file"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--pause", type=float, default=0.005, help="seconds between calls")
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)
    import grpc
    catalogue = importlib.import_module("trenode.v1.catalogue_pb2")
    stub_module = importlib.import_module("trenode.v1.catalogue_pb2_grpc")
    with open(args.ca, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    channel = grpc.secure_channel(args.address, credentials, options=[
        ("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 500)])
    stub = stub_module.CatalogueStub(channel)
    request = catalogue.GetDatasetRequest(id=args.dataset)
    metadata = (("authorization", "Bearer " + args.token),)
    with open(args.out, "w") as out:
        while not os.path.exists(args.stop_file):
            start = time.monotonic()
            try:
                stub.GetDataset(request, metadata=metadata, timeout=5)
                code = "OK"
            except grpc.RpcError as error:
                code = error.code().name
                reconnect(channel)
            out.write(f"{start:.6f} {time.monotonic() - start:.6f} {code}\n")
            time.sleep(args.pause)
    channel.close()


if __name__ == "__main__":
    main()
