#!/usr/bin/python3
"""A Python client of dpsweep's gRPC services.

It compiles the .proto files in proto/ (and protovalidate's validate.proto,
which they import) at run time with grpc_tools' protoc into a descriptor set in
a temporary directory, builds the message classes from it in a descriptor pool
of its own, and calls four services in turn through grpcio:

  RedactionService.Redact        scrub one text
  EvaluationService.ListControls the control catalogue, page by page
  SweepService.StartSweep        start a sweep, then GetSweep until it ends
  ReportingService.ListFindings  the sweep's findings, page by page

--calls picks some of them. Each result is one JSON object on a line of
stdout; errors go to stderr and the exit status is 1 (2 for a bad command
line).

Needs Debian's python3-grpcio, python3-grpc-tools and python3-protobuf; run it
with /usr/bin/python3 (see README.md).
"""

import argparse
import json
import os
import sys
import tempfile
import time

PROG = "dpsweep-python-client"
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CALLS = ("redact", "controls", "sweep", "findings")

try:
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from grpc_tools import protoc
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        f"{PROG}: {e}: install Debian's python3-grpcio, python3-grpc-tools and python3-protobuf "
        "(apt-get install python3-grpcio python3-grpc-tools) and run with /usr/bin/python3\n"
    )
    sys.exit(1)


class ClientError(Exception):
    """A failure worth one line on stderr."""


class API:
    """The dpsweep API built from .proto files at run time."""

    def __init__(self, proto_dir, validate_dir):
        if not os.path.isdir(os.path.join(proto_dir, "dpsweep")):
            raise ClientError(f"no dpsweep API under --proto-dir {proto_dir}")
        if not os.path.isfile(os.path.join(validate_dir, "buf", "validate", "validate.proto")):
            raise ClientError(
                f"no buf/validate/validate.proto under --validate-proto-dir {validate_dir} "
                "(run 'make tools' in the repository)"
            )
        files = []
        for root, _, names in os.walk(proto_dir):
            for n in names:
                if n.endswith(".proto"):
                    files.append(os.path.relpath(os.path.join(root, n), proto_dir).replace(os.sep, "/"))
        # google/protobuf/*.proto ship with grpc_tools.
        well_known = os.path.join(os.path.dirname(os.path.abspath(protoc.__file__)), "_proto")
        with tempfile.TemporaryDirectory(prefix="dpsweep-proto-") as tmp:
            out = os.path.join(tmp, "dpsweep.binpb")
            args = ["protoc", f"-I{proto_dir}", f"-I{validate_dir}", f"-I{well_known}",
                    "--include_imports", f"--descriptor_set_out={out}"] + sorted(files)
            if protoc.main(args) != 0:
                raise ClientError(f"protoc could not compile the .proto files under {proto_dir} (its errors are above)")
            with open(out, "rb") as f:
                fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
        # A pool of our own: the files come from proto/ alone, whatever the
        # default pool of this interpreter already holds.
        self.pool = descriptor_pool.DescriptorPool()
        for fd in fds.file:
            self.pool.Add(fd)
        self._factory = message_factory.MessageFactory(self.pool)

    def message(self, full_name):
        desc = self.pool.FindMessageTypeByName(full_name)
        get = getattr(message_factory, "GetMessageClass", None)
        return get(desc) if get else self._factory.GetPrototype(desc)

    def stub(self, channel, service):
        """Returns {method: callable} for a service such as "dpsweep.sweep.v1.SweepService"."""
        svc = self.pool.FindServiceByName(service)
        methods = {}
        for m in svc.methods:
            if m.client_streaming or m.server_streaming:
                continue
            methods[m.name] = channel.unary_unary(
                f"/{service}/{m.name}",
                request_serializer=lambda msg: msg.SerializeToString(),
                response_deserializer=self.message(m.output_type.full_name).FromString,
            )
        return methods


def enum_name(msg, field):
    value = getattr(msg, field)
    v = msg.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number.get(value)
    return v.name if v else str(value)


def channel_credentials(opts):
    """None for plaintext, or TLS (with a client certificate for mutual TLS) when --tls-ca is set."""
    if not opts.tls_ca:
        return None

    def read(flag, path):
        if not path:
            return None
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise ClientError(f"{flag}: {e}") from None

    return grpc.ssl_channel_credentials(root_certificates=read("--tls-ca", opts.tls_ca),
                                        private_key=read("--tls-key", opts.tls_key),
                                        certificate_chain=read("--tls-cert", opts.tls_cert))


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Client:
    def __init__(self, api, opts):
        self.api, self.opts = api, opts
        self.channels = {}
        self.stubs = {}
        creds = channel_credentials(opts)
        for area, addr in (("redaction", opts.redaction_addr), ("evaluation", opts.evaluation_addr),
                           ("sweep", opts.sweep_addr), ("reporting", opts.reporting_addr)):
            ch = grpc.secure_channel(addr, creds) if creds else grpc.insecure_channel(addr)
            self.channels[area] = (ch, addr)
            service = f"dpsweep.{area}.v1.{area.capitalize()}Service"
            self.stubs[area] = api.stub(ch, service)

    def close(self):
        for ch, _ in self.channels.values():
            ch.close()

    def call(self, area, method, request_type, **fields):
        req = self.api.message(f"dpsweep.{area}.v1.{request_type}")(**fields)
        try:
            return self.stubs[area][method](req, timeout=self.opts.rpc_timeout)
        except grpc.RpcError as e:
            raise ClientError(f"{method} at {self.channels[area][1]}: {e.code().name}: {e.details()}") from None

    def run(self):
        o = self.opts
        if "redact" in o.calls:
            self.redact()
        if "controls" in o.calls:
            self.list_controls()
        sid = o.sweep_id
        if "sweep" in o.calls:
            sid = self.sweep()
        if "findings" in o.calls:
            self.list_findings(sid)

    def redact(self):
        """Scrubs one text with the server's default policy."""
        red = self.call("redaction", "Redact", "RedactRequest", text=self.opts.text)
        emit({"rpc": "Redact", "redacted_text": red.redacted_text,
              "entity_types": sorted({f.entity_type for f in red.findings}), "findings": len(red.findings)})

    def list_controls(self):
        """Reads the control catalogue, every page."""
        o = self.opts
        ids, pages, token = [], 0, ""
        while True:
            resp = self.call("evaluation", "ListControls", "ListControlsRequest", page_size=o.page_size, page_token=token)
            pages += 1
            ids.extend(c.id for c in resp.controls)
            token = resp.next_page_token
            if not token:
                break
        emit({"rpc": "ListControls", "controls": len(ids), "pages": pages, "ids": ids})

    def sweep(self):
        """Starts a sweep, follows it to its end and returns its ID."""
        o = self.opts
        spec = self.api.message("dpsweep.sweep.v1.SweepSpec")(
            regions=o.region or ["us-east-1"], role_name=o.role_name, external_id=o.external_id,
            max_concurrent_accounts=o.max_concurrent_accounts)
        started = self.call("sweep", "StartSweep", "StartSweepRequest", sweep_id=o.sweep_id, spec=spec).sweep
        sid = started.sweep_id
        emit({"rpc": "StartSweep", "sweep_id": sid, "state": enum_name(started, "state"), "workflow_id": started.workflow_id})
        until = time.monotonic() + o.sweep_timeout
        last = None
        while True:
            sw = self.call("sweep", "GetSweep", "GetSweepRequest", sweep_id=sid).sweep
            p = sw.progress
            state = enum_name(sw, "state")
            line = {"rpc": "GetSweep", "sweep_id": sid, "state": state, "accounts_total": p.accounts_total,
                    "accounts_done": p.accounts_done, "accounts_failed": p.accounts_failed,
                    "regions_done": p.regions_done, "findings": p.counts.findings}
            running = state == "SWEEP_STATE_RUNNING"
            if not running:
                line["report_uris"] = list(sw.report_uris)
            if line != last or not running:
                emit(line)
            last = line
            if not running:
                break
            if time.monotonic() > until:
                raise ClientError(f"sweep {sid} still running after {o.sweep_timeout:g}s "
                                  f"({p.accounts_done} of {p.accounts_total} accounts done)")
            time.sleep(o.poll_interval)
        if state != "SWEEP_STATE_COMPLETED":
            raise ClientError(f"sweep {sid} ended {state}")
        return sid

    def list_findings(self, sid):
        """Reads a sweep's findings, every page."""
        o = self.opts
        Filter = self.api.message("dpsweep.reporting.v1.FindingFilter")
        count, pages, total, token, by_status = 0, 0, 0, "", {}
        while True:
            resp = self.call("reporting", "ListFindings", "ListFindingsRequest", sweep_id=sid, page_size=o.page_size,
                             page_token=token, filter=Filter(include_suppressed=o.include_suppressed))
            pages += 1
            count += len(resp.findings)
            total = resp.total_size
            for f in resp.findings:
                s = enum_name(f, "status")
                by_status[s] = by_status.get(s, 0) + 1
            token = resp.next_page_token
            if not token:
                break
        emit({"rpc": "ListFindings", "sweep_id": sid, "findings": count, "pages": pages, "total_size": total,
              "by_status": by_status})


def positive(kind, minimum):
    def parse(s):
        try:
            v = kind(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"{s!r}: want at least {minimum}")
        return v
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Calls Redact, ListControls, StartSweep (then GetSweep until the sweep ends) and ListFindings "
                    "against running dpsweep services, printing one JSON object per line.")
    p.add_argument("--redaction-addr", default="127.0.0.1:7403", metavar="HOST:PORT", help="RedactionService (%(default)s)")
    p.add_argument("--evaluation-addr", default="127.0.0.1:7402", metavar="HOST:PORT", help="EvaluationService (%(default)s)")
    p.add_argument("--sweep-addr", default="127.0.0.1:7405", metavar="HOST:PORT", help="SweepService (%(default)s)")
    p.add_argument("--reporting-addr", default="127.0.0.1:7404", metavar="HOST:PORT", help="ReportingService (%(default)s)")
    p.add_argument("--calls", default=",".join(CALLS), metavar="LIST",
                   help="which calls, comma-separated, in this order: redact, controls, sweep (StartSweep and GetSweep), "
                        "findings (ListFindings of the sweep, or of --sweep-id alone) (default: all four)")
    p.add_argument("--tls-ca", default="", metavar="FILE", help="speak TLS, trusting the servers' certificates signed by this CA (PEM)")
    p.add_argument("--tls-cert", default="", metavar="FILE", help="client certificate (PEM) for services that require mutual TLS")
    p.add_argument("--tls-key", default="", metavar="FILE", help="the client certificate's key (PEM)")
    p.add_argument("--proto-dir", default=os.path.join(REPO, "proto"), metavar="DIR", help="dpsweep's proto/ (default: the repository's)")
    p.add_argument("--validate-proto-dir", default=os.path.join(REPO, ".cache", "proto", "protovalidate"), metavar="DIR",
                   help="directory holding buf/validate/validate.proto (default: the repository's .cache/proto/protovalidate, from 'make tools')")
    p.add_argument("--text", default="owner jane@example.org key AKIA2OGYBAH6STMMNXNN", help="text to redact")
    p.add_argument("--sweep-id", default="", help="ID of the sweep to start, or whose findings to list (default: python-<time>)")
    p.add_argument("--region", action="append", help="region to sweep; repeat for more (default: us-east-1)")
    p.add_argument("--role-name", default="", help="role assumed in each member account (default: the server's)")
    p.add_argument("--external-id", default="", help="ExternalId for sts:AssumeRole")
    p.add_argument("--max-concurrent-accounts", type=positive(int, 0), default=0, metavar="N",
                   help="accounts scanned at once (default: the server's)")
    p.add_argument("--page-size", type=positive(int, 1), default=100, metavar="N", help="page size of ListControls and ListFindings (%(default)s)")
    p.add_argument("--include-suppressed", action="store_true", help="count suppressed findings too")
    p.add_argument("--rpc-timeout", type=positive(float, 0.001), default=30.0, metavar="SECONDS", help="deadline of each call (%(default)s)")
    p.add_argument("--sweep-timeout", type=positive(float, 0.001), default=900.0, metavar="SECONDS",
                   help="how long to wait for the sweep to end (%(default)s)")
    p.add_argument("--poll-interval", type=positive(float, 0.01), default=1.0, metavar="SECONDS", help="time between GetSweep calls (%(default)s)")
    opts = p.parse_args(argv)  # exits 2 on a bad command line
    opts.calls = [c.strip() for c in opts.calls.split(",") if c.strip()]
    for c in opts.calls:
        if c not in CALLS:
            p.error(f"--calls: unknown call {c!r}; want some of {', '.join(CALLS)}")
    if not opts.calls:
        p.error("--calls: no call")
    if bool(opts.tls_cert) != bool(opts.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if opts.tls_cert and not opts.tls_ca:
        p.error("--tls-cert needs --tls-ca")
    if not opts.sweep_id and "sweep" in opts.calls:
        opts.sweep_id = f"python-{int(time.time() * 1000)}"
    if not opts.sweep_id and "findings" in opts.calls:
        p.error("--calls findings without sweep needs --sweep-id")
    return opts


def main(argv):
    opts = parse_args(argv)
    client = None
    try:
        client = Client(API(opts.proto_dir, opts.validate_proto_dir), opts)
        client.run()
    except ClientError as e:
        sys.stderr.write(f"{PROG}: {e}\n")
        return 1
    finally:
        if client:
            client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
