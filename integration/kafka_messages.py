"""A second, independent codec for the Kafka protocol, driven at run time by Apache Kafka's own
message definitions (the common/message/*.json resources of the jars Maven resolved; nothing of
them is copied into the repository). The differential tests (test_versus_kafka.py) use it to
send the same request to Kafka and to Runnel and to decode both answers into plain dicts, field by
field, without going through Runnel's own generated codec.

    defs = KafkaMessages.load()
    body = defs.encode_request(3, 12, {"Topics": [{"Name": "t"}]})
    answer = defs.call(sock_conn, 3, 12, {...})   # -> dict keyed by Kafka's field names
"""

import base64
import json
import os
import re
import struct
import uuid as uuidlib
import zipfile

JAVA_CACHE = os.environ.get("RUNNEL_JAVA_CACHE", os.path.expanduser("~/.cache/runnel-java"))


def kafka_jars():
    """The jars carrying Kafka's message definitions, from the classpaths Maven wrote."""
    jars = set()
    for name in ("classpath.txt", "classpath-kafka-server.txt"):
        path = os.path.join(JAVA_CACHE, name)
        if os.path.exists(path):
            with open(path) as f:
                jars.update(j for j in f.read().strip().split(":")
                            if re.search(r"/kafka-(clients|group-coordinator|"
                                         r"transaction-coordinator)-[\d.]+\.jar$", j))
    return sorted(jars)


def load_definitions():
    """{message name: definition} from every common/message/*.json of the jars."""
    out = {}
    for jar in kafka_jars():
        with zipfile.ZipFile(jar) as z:
            for name in z.namelist():
                if name.startswith("common/message/") and name.endswith(".json"):
                    text = "\n".join(line for line in z.read(name).decode().splitlines()
                                     if not line.lstrip().startswith("//"))
                    d = json.loads(text)
                    out[d["name"]] = d
    return out


class Range:
    """A version range as Kafka's JSON writes it: "0+", "3-7", "5", "none"."""

    def __init__(self, text):
        self.lo = self.hi = None
        text = str(text).strip()
        if text == "none":
            return
        if text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), None
        elif "-" in text:
            a, b = text.split("-")
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(text)

    def has(self, v):
        return self.lo is not None and v >= self.lo and (self.hi is None or v <= self.hi)


class DecodeError(Exception):
    pass


class _Out:
    def __init__(self):
        self.parts = []

    def put(self, fmt, v):
        self.parts.append(struct.pack(">" + fmt, v))

    def raw(self, b):
        self.parts.append(bytes(b))

    def uvarint(self, v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                return self.raw(out)

    def value(self):
        return b"".join(self.parts)


class _In:
    def __init__(self, data):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError("truncated at byte %d (wanted %d more)" % (self.pos, n))
        b = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return b

    def get(self, fmt):
        size = struct.calcsize(">" + fmt)
        return struct.unpack(">" + fmt, self.take(size))[0]

    def uvarint(self):
        shift = result = 0
        while True:
            b = self.take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 35:
                raise DecodeError("varint too long")


def field_name(f):
    """A field's name with its first letter upper-cased: a few of Kafka's files spell names in
    lowerCamelCase (CreateTopicsRequest's timeoutMs); names never go on the wire."""
    return f["name"][0].upper() + f["name"][1:]


FIXED = {"bool": "?", "int8": "b", "int16": "h", "uint16": "H", "int32": "i", "uint32": "I",
         "int64": "q", "float64": "d"}


class Codec:
    """Encodes and decodes one message (request, response, header) at any valid version."""

    def __init__(self, definition):
        self.d = definition
        self.commons = {c["name"]: c["fields"] for c in definition.get("commonStructs", [])}
        self.flexible = Range(definition.get("flexibleVersions", "none"))

    def _children(self, f):
        if "fields" in f:
            return f["fields"]
        elem = f["type"][2:] if f["type"].startswith("[]") else f["type"]
        return self.commons.get(elem)

    def _default(self, f):
        d = f.get("default")
        t = f["type"]
        if d == "null":
            return None
        if t.startswith("[]"):
            return []
        if t in FIXED:
            if t == "bool":
                return d in (True, "true")
            if d is None or d == "":
                return 0
            if isinstance(d, str) and d.startswith("0x"):
                return int(d, 16)
            return float(d) if t == "float64" else int(d)
        if t == "string":
            return d if d is not None else ""
        if t in ("bytes", "records"):
            return b""
        if t == "uuid":
            return "AAAAAAAAAAAAAAAAAAAAAA"
        return {}  # a struct (a nullable one defaults to null above)

    # ------------------------------------------------------------------ encoding

    def encode(self, version, value):
        out = _Out()
        self._encode_struct(out, self.d["fields"], value or {}, version)
        return out.value()

    def _encode_struct(self, out, fields, value, v):
        flexible = self.flexible.has(v)
        tagged = []
        for f in fields:
            present = Range(f.get("versions", "none")).has(v)
            is_tagged = "tag" in f and Range(f.get("taggedVersions", "none")).has(v)
            if not present and not is_tagged:
                continue
            x = value.get(field_name(f), self._default(f))
            if is_tagged:
                if x != self._default(f):
                    sub = _Out()
                    self._encode_field(sub, f, x, v, flexible)
                    tagged.append((f["tag"], sub.value()))
                continue
            self._encode_field(out, f, x, v, flexible)
        if flexible:
            out.uvarint(len(tagged))
            for tag, data in sorted(tagged):
                out.uvarint(tag)
                out.uvarint(len(data))
                out.raw(data)

    def _encode_field(self, out, f, x, v, flexible):
        if flexible and f.get("flexibleVersions") == "none":
            flexible = False
        t = f["type"]
        nullable = Range(f.get("nullableVersions", "none")).has(v)
        if t.startswith("[]"):
            elem = t[2:]
            if x is None:
                if not nullable:
                    raise ValueError("%s is not nullable at v%d" % (f["name"], v))
                out.uvarint(0) if flexible else out.put("i", -1)
                return
            out.uvarint(len(x) + 1) if flexible else out.put("i", len(x))
            children = self._children(f)
            for item in x:
                if children is not None:
                    self._encode_struct(out, children, item, v)
                else:
                    self._encode_scalar(out, elem, item, flexible, False, f["name"], v)
            return
        children = self._children(f)
        if children is not None:
            if nullable:
                if x is None:
                    out.put("b", -1)
                    return
                out.put("b", 1)
            self._encode_struct(out, children, x or {}, v)
            return
        self._encode_scalar(out, t, x, flexible, nullable, f["name"], v)

    def _encode_scalar(self, out, t, x, flexible, nullable, name, v):
        if t in FIXED:
            out.put(FIXED[t], x)
        elif t == "uuid":
            out.raw(_uuid_bytes(x))
        elif t in ("string", "bytes", "records"):
            if x is None:
                if not nullable:
                    raise ValueError("%s is not nullable at v%d" % (name, v))
                if flexible:
                    out.uvarint(0)
                else:
                    out.put("h" if t == "string" else "i", -1)
                return
            data = x.encode() if isinstance(x, str) else bytes(x)
            if flexible:
                out.uvarint(len(data) + 1)
            else:
                out.put("h" if t == "string" else "i", len(data))
            out.raw(data)
        else:
            raise ValueError("unknown type %s" % t)

    # ------------------------------------------------------------------ decoding

    def decode(self, version, data, strict=True):
        src = _In(data)
        value = self._decode_struct(src, self.d["fields"], version)
        if strict and src.pos != len(src.data):
            raise DecodeError("%d bytes left after %s v%d" % (
                len(src.data) - src.pos, self.d["name"], version))
        return value

    def _decode_struct(self, src, fields, v):
        flexible = self.flexible.has(v)
        out = {}
        by_tag = {}
        for f in fields:
            if "tag" in f and Range(f.get("taggedVersions", "none")).has(v):
                by_tag[f["tag"]] = f
                out[field_name(f)] = self._default(f)
                continue
            if not Range(f.get("versions", "none")).has(v):
                continue
            out[field_name(f)] = self._decode_field(src, f, v, flexible)
        if flexible:
            for _ in range(src.uvarint()):
                tag = src.uvarint()
                size = src.uvarint()
                raw = src.take(size)
                f = by_tag.get(tag)
                if f is None:
                    out.setdefault("_unknown_tags", {})[tag] = raw
                else:
                    out[field_name(f)] = self._decode_field(_In(raw), f, v, flexible)
        return out

    def _decode_field(self, src, f, v, flexible):
        if flexible and f.get("flexibleVersions") == "none":
            flexible = False
        t = f["type"]
        if t.startswith("[]"):
            n = src.uvarint() - 1 if flexible else src.get("i")
            if n < 0:
                return None
            children = self._children(f)
            if children is not None:
                return [self._decode_struct(src, children, v) for _ in range(n)]
            return [self._decode_scalar(src, t[2:], flexible) for _ in range(n)]
        children = self._children(f)
        if children is not None:
            if Range(f.get("nullableVersions", "none")).has(v):
                if src.get("b") < 0:
                    return None
            return self._decode_struct(src, children, v)
        return self._decode_scalar(src, t, flexible)

    def _decode_scalar(self, src, t, flexible):
        if t in FIXED:
            return src.get(FIXED[t])
        if t == "uuid":
            return base64.urlsafe_b64encode(src.take(16)).decode().rstrip("=")
        if t in ("string", "bytes", "records"):
            n = src.uvarint() - 1 if flexible else src.get("h" if t == "string" else "i")
            if n < 0:
                return None
            data = src.take(n)
            return data.decode() if t == "string" else data
        raise DecodeError("unknown type %s" % t)


def _uuid_bytes(x):
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    if isinstance(x, uuidlib.UUID):
        return x.bytes
    return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))


class KafkaMessages:
    """Every API's request and response codec, by API key."""

    def __init__(self, definitions):
        self.defs = definitions
        self.requests, self.responses = {}, {}
        for d in definitions.values():
            if d["type"] == "request":
                self.requests[d["apiKey"]] = Codec(d)
            elif d["type"] == "response":
                self.responses[d["apiKey"]] = Codec(d)
        self.request_header = Codec(definitions["RequestHeader"])
        self.response_header = Codec(definitions["ResponseHeader"])

    @classmethod
    def load(cls):
        return cls(load_definitions())

    def name(self, api_key):
        return self.requests[api_key].d["name"][:-len("Request")]

    def valid_versions(self, api_key):
        r = Range(self.requests[api_key].d["validVersions"])
        return r.lo, r.hi

    def encode_request(self, api_key, version, body):
        return self.requests[api_key].encode(version, body)

    def request_frame(self, api_key, version, correlation_id, body, client_id="versus-kafka"):
        flexible = self.requests[api_key].flexible.has(version)
        header = self.request_header.encode(2 if flexible else 1, {
            "RequestApiKey": api_key, "RequestApiVersion": version,
            "CorrelationId": correlation_id, "ClientId": client_id})
        payload = header + self.encode_request(api_key, version, body)
        return struct.pack(">i", len(payload)) + payload

    def decode_response(self, api_key, version, frame):
        """(correlation id, body dict) of a response frame (without its length prefix)."""
        # ApiVersions answers with header v0 always (KIP-511), whatever the request version.
        flexible = api_key != 18 and self.responses[api_key].flexible.has(version)
        src = _In(frame)
        header = self.response_header._decode_struct(src, self.response_header.d["fields"],
                                                     1 if flexible else 0)
        body = self.responses[api_key].decode(version, frame[src.pos:])
        return header["CorrelationId"], body
