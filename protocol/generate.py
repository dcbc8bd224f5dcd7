#!/usr/bin/env python3
"""Generates C++ codecs from Runnel's protocol schema files (protocol/schema/*.msg).

The format is described in docs/protocol-schema.md. Standard library only; run by CMake:
    generate.py --out <dir> schema/a.msg schema/b.msg ...
For every schema `x.msg` it writes `x.h` and `x.cc`, and once `api_table.h` and `all_messages.h`.
"""

import argparse
import os
import re
import sys

CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class",
    "const", "continue", "default", "delete", "do", "double", "else", "enum", "explicit", "export",
    "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable",
    "namespace", "new", "noexcept", "not", "operator", "or", "private", "protected", "public",
    "register", "return", "short", "signed", "sizeof", "static", "struct", "switch", "template",
    "this", "throw", "true", "try", "typedef", "typename", "union", "unsigned", "using", "virtual",
    "void", "volatile", "while", "xor", "version", "unknown_tags",
}

PRIMITIVES = {
    "bool": "bool", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
    "uint16": "uint16_t", "uint32": "uint32_t", "float64": "double", "uuid": "uuid",
    "string": "std::string", "bytes": "std::vector<uint8_t>", "records": "record_set",
}
FIXED = {"bool", "int8", "int16", "int32", "int64", "uint16", "uint32", "float64", "uuid"}


class SchemaError(Exception):
    pass


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


class Versions:
    """An inclusive version range; hi None means open-ended; empty when lo is None."""

    def __init__(self, text):
        text = text.strip()
        if text == "none":
            self.lo, self.hi = None, None
        elif text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), None
        elif "-" in text:
            a, b = text.split("-", 1)
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(text)

    def empty(self):
        return self.lo is None

    def contains(self, v):
        return self.lo is not None and v >= self.lo and (self.hi is None or v <= self.hi)

    def cond(self, var="version"):
        """A C++ condition for 'var in range', or None if always true for var >= 0."""
        if self.lo is None:
            return "false"
        parts = []
        if self.lo > 0:
            parts.append(f"{var} >= {self.lo}")
        if self.hi is not None:
            parts.append(f"{var} <= {self.hi}")
        return " && ".join(parts) if parts else "true"


class Field:
    def __init__(self, name, type_, versions, line):
        self.name = name
        self.cpp_name = snake(name)
        if self.cpp_name in CPP_KEYWORDS:
            self.cpp_name += "_"
        self.type = type_
        self.versions = Versions(versions)
        self.nullable = Versions("none")
        self.tag = None
        self.tagged = Versions("none")
        self.default = None
        self.flexible_none = False
        self.children = []
        self.line = line
        self.is_array = type_.startswith("[]")
        self.elem = type_[2:] if self.is_array else type_
        self.struct = None  # StructDef when elem is a struct

    @property
    def is_struct_elem(self):
        return self.elem not in PRIMITIVES

    @property
    def is_nullable(self):
        return not self.nullable.empty()


class StructDef:
    def __init__(self, name, fields, common=False):
        self.name = name
        self.cpp_name = snake(name)
        self.fields = fields
        self.common = common
        self.nested = []  # StructDefs defined inside this one


class Schema:
    def __init__(self, path):
        self.path = path
        self.stem = os.path.splitext(os.path.basename(path))[0]
        self.kind = None  # "api" or "header"
        self.key = None
        self.name = None
        self.valid = None
        self.flexible = None
        self.sections = {}  # "request"/"response"/"header" -> [Field]
        self.commons = {}  # name -> [Field]


def strip_comment(line):
    out, quoted = [], False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        if ch == "#" and not quoted:
            break
        out.append(ch)
    return "".join(out).rstrip()


def tokenize(text):
    return re.findall(r'"[^"]*"|\S+', text)


def parse_field(tokens, lineno, path):
    if len(tokens) < 3:
        raise SchemaError(f"{path}:{lineno}: a field needs <Name> <type> <versions>")
    f = Field(tokens[0], tokens[1], tokens[2], lineno)
    i = 3
    while i < len(tokens):
        opt = tokens[i]
        if opt == "nullable":
            f.nullable = Versions(tokens[i + 1])
            i += 2
        elif opt == "tag":
            f.tag = int(tokens[i + 1])
            f.tagged = Versions(tokens[i + 2])
            i += 3
        elif opt == "default":
            f.default = tokens[i + 1]
            i += 2
        elif opt == "ignorable":
            i += 1
        elif opt == "flexible" and tokens[i + 1] == "none":
            f.flexible_none = True
            i += 2
        else:
            raise SchemaError(f"{path}:{lineno}: unknown field option '{opt}'")
    if f.is_array and f.elem in PRIMITIVES and f.elem == "records":
        raise SchemaError(f"{path}:{lineno}: arrays of records are not supported")
    return f


def parse_schema(path):
    schema = Schema(path)
    stack = []  # (indent, field)
    current = None
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = strip_comment(raw)
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip(" "))
            tokens = tokenize(line)
            if indent == 0:
                word = tokens[0]
                if word in ("api", "header", "data"):
                    # "data" (records stored in internal topics) is generated like a header:
                    # one versioned struct.
                    schema.kind = "api" if word == "api" else "header"
                    if word == "api":
                        schema.key = int(tokens[1])
                        rest = tokens[2:]
                    else:
                        rest = tokens[1:]
                    schema.name = rest[0]
                    opts = dict(zip(rest[1::2], rest[2::2]))
                    schema.valid = Versions(opts["versions"])
                    # "serve": the versions the broker implements, when fewer than the file
                    # describes (a newer version's fields are known, its behaviour not yet).
                    schema.served = Versions(opts.get("serve", opts["versions"]))
                    if schema.served.lo < schema.valid.lo or schema.served.hi > schema.valid.hi:
                        raise SchemaError(f"{path}:{lineno}: serve must lie within versions")
                    schema.flexible = Versions(opts.get("flexible", "none"))
                    if word in ("header", "data"):
                        current = schema.sections.setdefault("header", [])
                        stack = []
                elif word in ("request", "response"):
                    current = schema.sections.setdefault(word, [])
                    stack = []
                elif word == "common":
                    current = schema.commons.setdefault(tokens[1], [])
                    stack = []
                else:
                    raise SchemaError(f"{path}:{lineno}: unexpected '{word}'")
                continue
            if current is None:
                raise SchemaError(f"{path}:{lineno}: field outside a section")
            if indent % 2:
                raise SchemaError(f"{path}:{lineno}: indentation must be a multiple of 2")
            field = parse_field(tokens, lineno, path)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if not stack:
                if indent != 2:
                    raise SchemaError(f"{path}:{lineno}: top-level fields are indented 2 spaces")
                current.append(field)
            else:
                parent_indent, parent = stack[-1]
                if indent != parent_indent + 2:
                    raise SchemaError(f"{path}:{lineno}: bad indentation")
                if not parent.is_struct_elem:
                    raise SchemaError(f"{path}:{lineno}: {parent.name} is not a struct")
                parent.children.append(field)
            stack.append((indent, field))
    if schema.kind is None:
        raise SchemaError(f"{path}: missing 'api', 'header' or 'data' line")
    return schema


# ----------------------------------------------------------------------------- type model


def resolve_structs(schema):
    """Builds StructDefs for every struct-typed field; returns (common_defs, top-level defs).

    Common structs live in namespace `<stem>_common` so files sharing a struct name don't clash.
    A struct type never shares its C++ name with a field of the same file: inside a struct a
    member named like a type would hide it.
    """
    commons = {}
    for name, fields in schema.commons.items():
        sd = StructDef(name, fields, common=True)
        commons[name] = sd
    all_defs = list(commons.values())
    field_names = set()

    def build(owner, fields):
        for f in fields:
            field_names.add(f.cpp_name)
            if not f.is_struct_elem:
                continue
            if f.children:
                sd = StructDef(f.elem, f.children)
                all_defs.append(sd)
                build(sd, f.children)
                owner.nested.append(sd)
                f.struct = sd
            elif f.elem in commons:
                f.struct = commons[f.elem]
            else:
                raise SchemaError(f"{schema.path}:{f.line}: unknown struct type {f.elem}")

    for sd in list(commons.values()):
        build(sd, sd.fields)
    tops = {}
    for section, fields in schema.sections.items():
        if schema.kind == "api":
            top_name = f"{schema.name}{section.capitalize()}"
        else:
            top_name = schema.name
        sd = StructDef(top_name, fields)
        build(sd, fields)
        tops[section] = sd
    for sd in all_defs:
        while sd.cpp_name in field_names:
            sd.cpp_name += "_entry"
        sd.ref_name = f"{schema.stem}_common::{sd.cpp_name}" if sd.common else sd.cpp_name
    for sd in tops.values():
        sd.ref_name = sd.cpp_name

    # Commons in dependency order (a common struct may use another).
    ordered, seen = [], set()

    def visit(sd):
        if sd.name in seen:
            return
        seen.add(sd.name)

        def deps(fields):
            for f in fields:
                if f.struct is not None and f.struct.common:
                    visit(f.struct)
                deps(f.children)
        deps(sd.fields)
        ordered.append(sd)
    for sd in commons.values():
        visit(sd)
    return {sd.name: sd for sd in ordered}, tops


def cpp_elem_type(f):
    if f.is_struct_elem:
        return f.struct.ref_name
    return PRIMITIVES[f.elem]


def cpp_type(f):
    elem = cpp_elem_type(f)
    if f.is_array:
        t = f"std::vector<{elem}>"
        return f"std::optional<{t}>" if f.is_nullable else t
    if f.elem in ("string", "bytes") and f.is_nullable:
        return f"std::optional<{elem}>"
    if f.is_struct_elem and f.is_nullable:
        return f"std::optional<{elem}>"
    return elem


def default_expr(f):
    """C++ initializer for the member, or None for value-initialization."""
    d = f.default
    if f.is_array:
        return None
    if d is None:
        if f.elem in FIXED and f.elem != "uuid":
            return "false" if f.elem == "bool" else "0"
        return None
    if d == "null":
        if f.elem == "records":
            return "record_set::null()"
        return "std::nullopt"
    if f.elem == "bool":
        return d
    if f.elem == "string":
        return d if d.startswith('"') else f'"{d}"'
    if f.elem in ("float64",):
        return d
    if f.elem in FIXED and f.elem != "uuid":
        v = int(d, 0)
        if f.elem == "int64":
            return f"INT64_C({v})"
        return str(v)
    return None


def is_default_cond(f, expr):
    """C++ condition that is true when the member `expr` holds its default (for tagged fields)."""
    d = default_expr(f)
    if f.is_array:
        return f"{expr}.empty()" if not f.is_nullable else f"(!{expr} || {expr}->empty())"
    if f.is_struct_elem:
        return f"{expr} == {cpp_type(f)}{{}}"
    if f.elem == "records":
        return f"{expr}.size() == 0"
    if d == "std::nullopt":
        return f"!{expr}.has_value()"
    if f.elem == "uuid":
        return f"{expr} == uuid{{}}"
    if f.elem in ("string", "bytes"):
        if d is None:
            return f"({expr}).empty()" if not f.is_nullable else f"({expr} && {expr}->empty())"
        return f"{expr} == {d}"
    return f"{expr} == {d if d is not None else 0}"


# ----------------------------------------------------------------------------- code emission


class Emitter:
    def __init__(self, schema):
        self.schema = schema
        self.h = []
        self.cc = []

    def flexible_cond(self):
        return self.schema.flexible.cond("version")

    # --- struct declarations
    def declare(self, sd, indent):
        pad = " " * indent
        self.h.append(f"{pad}struct {sd.cpp_name} {{")
        for nested in sd.nested:
            self.declare(nested, indent + 4)
        for f in sd.fields:
            init = default_expr(f)
            init = f" = {init}" if init is not None else "{}"
            self.h.append(f"{pad}    {cpp_type(f)} {f.cpp_name}{init};")
        self.h.append(f"{pad}    std::vector<tagged_field> unknown_tags;")
        self.h.append("")
        self.h.append(f"{pad}    void encode(writer& w, int16_t version) const;")
        self.h.append(f"{pad}    void decode(reader& r, int16_t version);")
        self.h.append(f"{pad}    bool operator==(const {sd.cpp_name}&) const = default;")
        walk = self.error_walk(sd)
        if walk:
            # Kafka's ErrorsPerSec metric counts every error code an answer carries.
            self.h.append(f"{pad}    // Calls f(code) for every ErrorCode here and in the parts, "
                          "as `version` has them.")
            self.h.append(f"{pad}    template <class F>")
            self.h.append(f"{pad}    void for_each_error_code(int16_t version, F& f) const {{")
            self.h.append(f"{pad}        (void)version;")
            for line in walk:
                self.h.append(f"{pad}        {line}")
            self.h.append(f"{pad}    }}")
        self.h.append(f"{pad}}};")

    # --- error codes (for_each_error_code)
    @staticmethod
    def is_error_field(f):
        # ErrorCode, PartitionErrorCode (AddPartitionsToTxn v0-3), ...; not CreateTopics' tagged
        # TopicConfigErrorCode, which Kafka's errorCounts leaves out too.
        return (f.name.endswith("ErrorCode") and f.name != "TopicConfigErrorCode"
                and f.elem == "int16" and not f.is_array)

    def has_errors(self, sd, seen=None):
        seen = seen or set()
        if id(sd) in seen:
            return False
        seen.add(id(sd))
        for f in sd.fields:
            if self.is_error_field(f):
                return True
            if f.is_struct_elem and f.struct is not None and self.has_errors(f.struct, seen):
                return True
        return False

    def error_walk(self, sd):
        lines = []
        for f in sd.fields:
            cond = f.versions.cond()
            if self.is_error_field(f):
                lines.append(f"if ({cond}) f({f.cpp_name});")
                continue
            if not (f.is_struct_elem and f.struct is not None and self.has_errors(f.struct)):
                continue
            name = f.cpp_name
            if f.is_array:
                acc = f"*{name}" if f.is_nullable else name
                step = f"for (const auto& item : {acc}) item.for_each_error_code(version, f);"
                if f.is_nullable:
                    step = f"if ({name}) {{ {step} }}"
            elif f.is_nullable:
                step = f"if ({name}) {name}->for_each_error_code(version, f);"
            else:
                step = f"{name}.for_each_error_code(version, f);"
            lines.append(f"if ({cond}) {{ {step} }}")
        return lines

    # --- encode
    def encode_value(self, f, expr, out, pad, compact):
        e = f.elem
        if f.is_array:
            acc = expr
            if f.is_nullable:
                out.append(f"{pad}if (!{expr}) {{")
                out.append(f"{pad}    w.write_array_length(-1, {compact});")
                out.append(f"{pad}}} else {{")
                acc = f"(*{expr})"
                pad2 = pad + "    "
            else:
                pad2 = pad
            out.append(f"{pad2}w.write_array_length(static_cast<int32_t>({acc}.size()), {compact});")
            out.append(f"{pad2}for (const auto& item : {acc}) {{")
            self.encode_scalar(f, "item", out, pad2 + "    ", compact, in_array=True)
            out.append(f"{pad2}}}")
            if f.is_nullable:
                out.append(f"{pad}}}")
            return
        self.encode_scalar(f, expr, out, pad, compact, in_array=False)

    def encode_scalar(self, f, expr, out, pad, compact, in_array):
        e = f.elem
        nullable_now = f.nullable.cond("version")
        if f.is_struct_elem:
            if f.is_nullable and not in_array:
                # Nullable structs use an int8 presence marker (-1 null, 1 present).
                out.append(f"{pad}if (!{expr}) {{ w.write_int8(-1); }} else {{ w.write_int8(1); "
                           f"{expr}->encode(w, version); }}")
            else:
                out.append(f"{pad}{expr}.encode(w, version);")
            return
        if e in FIXED:
            out.append(f"{pad}w.write_{e}({expr});")
        elif e == "string":
            if f.is_nullable and not in_array:
                out.append(f"{pad}if ({nullable_now}) w.write_nullable_string({expr}, {compact});")
                out.append(f"{pad}else w.write_string({expr}.value_or(std::string()), {compact});")
            else:
                out.append(f"{pad}w.write_string({expr}, {compact});")
        elif e == "bytes":
            if f.is_nullable and not in_array:
                out.append(f"{pad}if ({nullable_now}) w.write_nullable_bytes({expr}, {compact});")
                out.append(f"{pad}else w.write_bytes({expr}.value_or(std::vector<uint8_t>()), "
                           f"{compact});")
            else:
                out.append(f"{pad}w.write_bytes({expr}, {compact});")
        elif e == "records":
            out.append(f"{pad}w.write_records({expr}, {compact});")
        else:
            raise SchemaError(f"cannot encode {e}")

    def compact_expr(self, f, flexible):
        if f.flexible_none:
            return "false"
        return flexible

    def define_struct(self, sd, qual):
        for nested in sd.nested:
            self.define_struct(nested, f"{qual}::{nested.cpp_name}")
        flex = self.flexible_cond()
        out = self.cc
        # encode
        out.append(f"void {qual}::encode(writer& w, int16_t version) const {{")
        out.append(f"    const bool flexible = {flex};")
        out.append("    (void)flexible;")
        tagged = [f for f in sd.fields if f.tag is not None]
        for f in sd.fields:
            cond = f.versions.cond()
            pad = "    "
            if f.tag is not None:
                tcond = f.tagged.cond()
                if tcond != "false":
                    cond = f"({cond}) && !({tcond})" if cond != "true" else f"!({tcond})"
            if cond != "true":
                out.append(f"    if ({cond}) {{")
                pad = "        "
            self.encode_value(f, f.cpp_name, out, pad, self.compact_expr(f, "flexible"))
            if cond != "true":
                out.append("    }")
        out.append("    if (flexible) {")
        if not tagged:
            out.append("        w.write_tagged_fields(unknown_tags);")
        else:
            out.append("        std::vector<tagged_field> tags;")
            for f in sorted(tagged, key=lambda x: x.tag):
                tcond = f.tagged.cond()
                out.append(f"        if (({tcond}) && !({is_default_cond(f, f.cpp_name)})) {{")
                out.append("            writer tw;")
                out.append("            {")
                out.append("                auto& w = tw;")
                self.encode_value(f, f.cpp_name, out, "                ",
                                  self.compact_expr(f, "true"))
                out.append("            }")
                out.append(f"            tags.push_back({{{f.tag}, tw.flatten()}});")
                out.append("        }")
            out.append("        for (const auto& t : unknown_tags) tags.push_back(t);")
            out.append("        std::sort(tags.begin(), tags.end(), [](const tagged_field& a, "
                       "const tagged_field& b) { return a.tag < b.tag; });")
            out.append("        w.write_tagged_fields(tags);")
        out.append("    }")
        out.append("}")
        out.append("")
        # decode
        out.append(f"void {qual}::decode(reader& r, int16_t version) {{")
        out.append(f"    const bool flexible = {flex};")
        out.append("    (void)flexible;")
        for f in sd.fields:
            cond = f.versions.cond()
            if f.tag is not None:
                tcond = f.tagged.cond()
                if tcond != "false":
                    cond = f"({cond}) && !({tcond})" if cond != "true" else f"!({tcond})"
            pad = "    "
            if cond != "true":
                out.append(f"    if ({cond}) {{")
                pad = "        "
            self.decode_value(f, f.cpp_name, out, pad, self.compact_expr(f, "flexible"))
            if cond != "true":
                out.append("    }")
        out.append("    if (flexible && r.ok()) {")
        out.append("        r.read_tagged_fields(unknown_tags, [&](uint32_t tag, reader& sub) {")
        if tagged:
            out.append("            switch (tag) {")
            for f in sorted(tagged, key=lambda x: x.tag):
                out.append(f"                case {f.tag}:")
                out.append(f"                    if (!({f.tagged.cond()})) return false;")
                out.append("                    {")
                out.append("                        auto& r = sub;")
                self.decode_value(f, f.cpp_name, out, "                        ",
                                  self.compact_expr(f, "true"))
                out.append("                    }")
                out.append("                    return true;")
            out.append("                default:")
            out.append("                    return false;")
            out.append("            }")
        else:
            out.append("            (void)tag;")
            out.append("            (void)sub;")
            out.append("            return false;")
        out.append("        });")
        out.append("    }")
        out.append("}")
        out.append("")

    def decode_value(self, f, expr, out, pad, compact):
        if f.is_array:
            elem_t = cpp_elem_type(f)
            out.append(f"{pad}{{")
            out.append(f"{pad}    int32_t n = r.read_array_length({compact});")
            if f.is_nullable:
                out.append(f"{pad}    if (n < 0) {{")
                out.append(f"{pad}        if (!({f.nullable.cond()})) r.fail();")
                out.append(f"{pad}        {expr}.reset();")
                out.append(f"{pad}    }} else {{")
                out.append(f"{pad}        auto& vec = {expr}.emplace();")
            else:
                out.append(f"{pad}    if (n < 0) {{")
                out.append(f"{pad}        r.fail();")
                out.append(f"{pad}    }} else {{")
                out.append(f"{pad}        auto& vec = {expr};")
                out.append(f"{pad}        vec.clear();")
            out.append(f"{pad}        vec.reserve(static_cast<size_t>(n));")
            out.append(f"{pad}        for (int32_t i = 0; i < n && r.ok(); ++i) {{")
            out.append(f"{pad}            {elem_t} item{{}};")
            self.decode_scalar(f, "item", out, pad + "            ", compact, in_array=True)
            out.append(f"{pad}            vec.push_back(std::move(item));")
            out.append(f"{pad}        }}")
            out.append(f"{pad}    }}")
            out.append(f"{pad}}}")
            return
        self.decode_scalar(f, expr, out, pad, compact, in_array=False)

    def decode_scalar(self, f, expr, out, pad, compact, in_array):
        e = f.elem
        nullable_now = f.nullable.cond("version")
        if f.is_struct_elem:
            if f.is_nullable and not in_array:
                out.append(f"{pad}if (r.read_int8() < 0) {{ {expr}.reset(); }} else {{ "
                           f"{expr}.emplace().decode(r, version); }}")
            else:
                out.append(f"{pad}{expr}.decode(r, version);")
            return
        if e in FIXED:
            out.append(f"{pad}{expr} = r.read_{e}();")
        elif e == "string":
            if f.is_nullable and not in_array:
                out.append(f"{pad}if ({nullable_now}) {expr} = r.read_nullable_string({compact});")
                out.append(f"{pad}else {expr} = r.read_string({compact});")
            else:
                out.append(f"{pad}{expr} = r.read_string({compact});")
        elif e == "bytes":
            if f.is_nullable and not in_array:
                out.append(f"{pad}if ({nullable_now}) {expr} = r.read_nullable_bytes({compact});")
                out.append(f"{pad}else {expr} = r.read_bytes({compact});")
            else:
                out.append(f"{pad}{expr} = r.read_bytes({compact});")
        elif e == "records":
            out.append(f"{pad}{expr} = r.read_records({compact});")
        else:
            raise SchemaError(f"cannot decode {e}")

    # --- sample filling for round-trip tests
    def define_sample(self, sd, qual, out):
        for nested in sd.nested:
            self.define_sample(nested, f"{qual}::{nested.cpp_name}", out)
        out.append(f"inline void fill_sample({qual}& m, int16_t version, int& seed) {{")
        out.append("    (void)m; (void)version; (void)seed;")
        for f in sd.fields:
            present = f.versions.cond()
            if f.tag is not None and f.tagged.cond() != "false":
                present = f"({present}) || ({f.tagged.cond()})"
            out.append(f"    if ({present}) {{")
            self.sample_value(f, f"m.{f.cpp_name}", out, "        ")
            out.append("    }")
        out.append("}")
        out.append("")

    def sample_value(self, f, expr, out, pad):
        nullable_now = f.nullable.cond("version")
        if f.is_array:
            acc = expr
            if f.is_nullable:
                out.append(f"{pad}if (({nullable_now}) && seed % 5 == 0) {{ {expr}.reset(); ++seed; }} "
                           f"else {{")
                out.append(f"{pad}    {expr}.emplace();")
                acc = f"(*{expr})"
                pad2 = pad + "    "
            else:
                pad2 = pad
            out.append(f"{pad2}for (int i = 0; i < 2; ++i) {{")
            out.append(f"{pad2}    std::decay_t<decltype({acc})>::value_type item{{}};")
            self.sample_scalar(f, "item", out, pad2 + "    ", in_array=True)
            out.append(f"{pad2}    {acc}.push_back(std::move(item));")
            out.append(f"{pad2}}}")
            if f.is_nullable:
                out.append(f"{pad}}}")
            return
        self.sample_scalar(f, expr, out, pad, in_array=False)

    def sample_scalar(self, f, expr, out, pad, in_array):
        e = f.elem
        nullable_now = f.nullable.cond("version")
        null_first = (f"if (({nullable_now}) && seed % 5 == 0) {{ {expr}.reset(); ++seed; }} else ")
        if f.is_struct_elem:
            if f.is_nullable and not in_array:
                out.append(f"{pad}{null_first}{{ fill_sample({expr}.emplace(), version, seed); }}")
            else:
                out.append(f"{pad}fill_sample({expr}, version, seed);")
            return
        if e == "bool":
            out.append(f"{pad}{expr} = (seed++ % 2) == 0;")
        elif e in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
            ctype = PRIMITIVES[e]
            out.append(f"{pad}{expr} = static_cast<{ctype}>(seed++ * 37 + 1);")
        elif e == "float64":
            out.append(f"{pad}{expr} = seed++ * 0.5;")
        elif e == "uuid":
            out.append(f"{pad}for (auto& b : {expr}) b = static_cast<uint8_t>(seed++);")
        elif e == "string":
            value = "std::string(\"s\") + std::to_string(seed++)"
            if f.is_nullable and not in_array:
                out.append(f"{pad}{null_first}{{ {expr} = {value}; }}")
            else:
                out.append(f"{pad}{expr} = {value};")
        elif e == "bytes":
            value = "std::vector<uint8_t>{static_cast<uint8_t>(seed++), 7, 9}"
            if f.is_nullable and not in_array:
                out.append(f"{pad}{null_first}{{ {expr} = {value}; }}")
            else:
                out.append(f"{pad}{expr} = {value};")
        elif e == "records":
            out.append(f"{pad}{{ std::vector<uint8_t> b(300 + seed % 7, static_cast<uint8_t>(seed)); "
                       f"++seed; {expr} = record_set::copy_of(b); }}")

    def run(self):
        s = self.schema
        commons, tops = resolve_structs(s)
        guard_ns = "runnel::protocol::msg"
        h = self.h
        h.append("// Generated by protocol/generate.py from protocol/schema/%s.msg. Do not edit." % s.stem)
        h.append("#pragma once")
        h.append("")
        h.append("#include <cstdint>")
        h.append("#include <optional>")
        h.append("#include <string>")
        h.append("#include <type_traits>")
        h.append("#include <vector>")
        h.append("")
        h.append('#include "protocol/codec.h"')
        h.append("")
        h.append(f"namespace {guard_ns} {{")
        h.append("")
        if commons:
            h.append(f"namespace {s.stem}_common {{")
            for sd in commons.values():
                self.declare(sd, 0)
                h.append("")
            h.append(f"}}  // namespace {s.stem}_common")
            h.append("")
        for section in ("header", "request", "response"):
            if section in tops:
                self.declare(tops[section], 0)
                h.append("")
        if s.kind == "api":
            h.append(f"inline constexpr int16_t {snake(s.name)}_api_key = {s.key};")
            h.append("")
        h.append(f"}}  // namespace {guard_ns}")
        h.append("")
        # samples for tests live in a separate header section guarded by a macro
        h.append("#ifdef RUNNEL_PROTOCOL_SAMPLES")
        h.append(f"namespace {guard_ns}::samples {{")
        sample = []
        for sd in commons.values():
            self.define_sample(sd, sd.ref_name, sample)
        for section in ("header", "request", "response"):
            if section in tops:
                self.define_sample(tops[section], tops[section].cpp_name, sample)
        # forward declarations so nested/common fills can call each other in any order
        fwd = []
        def collect(sd, qual):
            for n in sd.nested:
                collect(n, f"{qual}::{n.cpp_name}")
            fwd.append(f"inline void fill_sample({qual}& m, int16_t version, int& seed);")
        for sd in commons.values():
            collect(sd, sd.ref_name)
        for section in ("header", "request", "response"):
            if section in tops:
                collect(tops[section], tops[section].cpp_name)
        h.extend(fwd)
        h.extend(sample)
        h.append(f"}}  // namespace {guard_ns}::samples")
        h.append("#endif")
        cc = self.cc
        cc.append("// Generated by protocol/generate.py from protocol/schema/%s.msg. Do not edit." % s.stem)
        cc.append(f'#include "protocol/messages/{s.stem}.h"')
        cc.append("")
        cc.append("#include <algorithm>")
        cc.append("")
        cc.append(f"namespace {guard_ns} {{")
        cc.append("")
        for sd in commons.values():
            self.define_struct(sd, sd.ref_name)
        for section in ("header", "request", "response"):
            if section in tops:
                self.define_struct(tops[section], tops[section].cpp_name)
        cc.append(f"}}  // namespace {guard_ns}")
        return "\n".join(h) + "\n", "\n".join(cc) + "\n", tops


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("schemas", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    apis = []
    stems = []
    try:
        for path in sorted(args.schemas):
            schema = parse_schema(path)
            h, cc, tops = Emitter(schema).run()
            write_if_changed(os.path.join(args.out, schema.stem + ".h"), h)
            write_if_changed(os.path.join(args.out, schema.stem + ".cc"), cc)
            stems.append(schema.stem)
            if schema.kind == "api":
                apis.append(schema)
    except SchemaError as e:
        print(f"schema error: {e}", file=sys.stderr)
        return 1
    apis.sort(key=lambda s: s.key)
    t = ["// Generated by protocol/generate.py. Do not edit.", "#pragma once", "",
         "#include <cstdint>", "#include <tuple>", ""]
    for stem in stems:
        t.append(f'#include "protocol/messages/{stem}.h"')
    t += ["", "namespace runnel::protocol::msg {", "",
          "struct api_info {", "    int16_t key;", "    const char* name;",
          "    int16_t min_version;", "    int16_t max_version;",
          "    int16_t first_flexible;  // -1: no flexible version", "};", "",
          "inline constexpr api_info api_table[] = {"]
    for s in apis:
        ff = s.flexible.lo if s.flexible.lo is not None else -1
        t.append(f'    {{{s.key}, "{s.name}", {s.served.lo}, {s.served.hi}, {ff}}},')
    t += ["};", "",
          "// Maps an API key to its request/response types: api_types<0>::request is produce_request.",
          "template <int16_t Key>", "struct api_types;"]
    for s in apis:
        n = snake(s.name)
        ff = s.flexible.lo if s.flexible.lo is not None else -1
        t += [f"template <>", f"struct api_types<{s.key}> {{",
              f"    using request = {n}_request;", f"    using response = {n}_response;",
              f'    static constexpr const char* name = "{s.name}";',
              f"    static constexpr int16_t key = {s.key};",
              f"    // Versions the broker serves (the file's `serve`, else `versions`).",
              f"    static constexpr int16_t min_version = {s.served.lo};",
              f"    static constexpr int16_t max_version = {s.served.hi};",
              f"    // Versions the message definition covers (encode/decode work for all).",
              f"    static constexpr int16_t schema_min_version = {s.valid.lo};",
              f"    static constexpr int16_t schema_max_version = {s.valid.hi};",
              f"    static constexpr int16_t first_flexible = {ff};", "};"]
    t += ["", "using all_apis = std::tuple<" +
          ", ".join(f"api_types<{s.key}>" for s in apis) + ">;", "",
          "}  // namespace runnel::protocol::msg", ""]
    write_if_changed(os.path.join(args.out, "api_table.h"), "\n".join(t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
