#include "protocol/compression.h"

#include <lz4frame.h>
#include <lz4hc.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

namespace runnel::protocol {
namespace {

// snappy-java's stream header: magic, then version and minimum compatible version (int32 BE).
constexpr uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t xerial_header_size = 16;
constexpr size_t xerial_block_size = 32 * 1024;  // snappy-java's default block

// Largest expansion each format allows per input byte; a claimed size beyond this is corrupt, and
// initial allocations are sized from it so tiny inputs cannot reserve max_out up front.
constexpr size_t snappy_max_ratio = 22;    // a 3-byte copy element emits at most 64 bytes
constexpr size_t initial_guess_ratio = 4;  // first allocation for streams of unknown size
constexpr size_t initial_guess_min = 64 * 1024;
// A zstd frame declaring its content size is decoded in one call if the size is at most this.
constexpr size_t one_shot_min = 1024 * 1024;
constexpr size_t one_shot_ratio = 64;

uint32_t load_be32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

void store_be32(uint8_t* p, uint32_t v) {
    v = __builtin_bswap32(v);
    std::memcpy(p, &v, 4);
}

// Output buffer that grows geometrically but never past `max` bytes of storage. When it is full
// at `max`, decoders write into a small probe buffer instead: any byte landing there means the
// output is too large.
class bounded_output {
  public:
    bounded_output(std::vector<uint8_t>& out, size_t max, size_t initial) : out_(out), max_(max) {
        out_.clear();
        resize_storage(std::min(max_, initial));
    }

    // Where the next bytes go and how many fit; switches to the probe buffer at the limit.
    uint8_t* next() { return probing() ? probe_ : out_.data() + used_; }
    size_t room() const { return probing() ? sizeof(probe_) : out_.size() - used_; }
    bool probing() const { return used_ == out_.size() && out_.size() >= max_; }

    // Prepares room for more output. Call before each decoder step.
    void make_room() {
        if (used_ < out_.size() || out_.size() >= max_) return;
        size_t grown = out_.size() < max_ / 2 ? std::max<size_t>(out_.size() * 2, 4096) : max_;
        resize_storage(std::min(grown, max_));
    }

    // Records `n` bytes written at next(); false if they went to the probe (limit exceeded).
    bool commit(size_t n) {
        if (n == 0) return true;
        if (probing()) return false;
        used_ += n;
        return true;
    }

    void finish() { out_.resize(used_); }

  private:
    void resize_storage(size_t n) {
        out_.reserve(n);  // exact: resize() alone may double capacity past max_
        out_.resize(n);
    }

    std::vector<uint8_t>& out_;
    size_t max_;
    size_t used_ = 0;
    uint8_t probe_[64];
};

size_t initial_guess(size_t in_size) {
    size_t guess =
        in_size > SIZE_MAX / initial_guess_ratio ? SIZE_MAX : in_size * initial_guess_ratio;
    return std::max(guess, initial_guess_min);
}

bool starts_with_xerial_magic(std::span<const uint8_t> in) {
    return in.size() >= xerial_header_size &&
           std::memcmp(in.data(), xerial_magic, sizeof(xerial_magic)) == 0;
}

// ---- gzip ----

bool gunzip(std::span<const uint8_t> in, std::vector<uint8_t>& out, size_t max_out) {
    if (in.size() > UINT_MAX) return false;
    z_stream zs{};
    // 15 + 32: 32 KiB window, accept a gzip or zlib header.
    if (inflateInit2(&zs, 15 + 32) != Z_OK) return false;
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(in.size());

    bounded_output o(out, max_out, initial_guess(in.size()));
    for (;;) {
        o.make_room();
        size_t room = std::min<size_t>(o.room(), UINT_MAX);
        zs.next_out = o.next();
        zs.avail_out = static_cast<uInt>(room);
        int rc = inflate(&zs, Z_NO_FLUSH);
        if (!o.commit(room - zs.avail_out)) return false;
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            // Another gzip member follows (Java's GZIPInputStream reads them too).
            if (inflateReset(&zs) != Z_OK) return false;
            continue;
        }
        // Z_BUF_ERROR with output room means the input ran out mid-stream.
        if (rc != Z_OK) return false;
        if (zs.avail_in == 0 && zs.avail_out != 0) return false;  // truncated
    }
    o.finish();
    return true;
}

std::vector<uint8_t> gzip(std::span<const uint8_t> in, int level) {
    std::vector<uint8_t> out;
    z_stream zs{};
    // 15 + 16 writes a gzip wrapper.
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return out;
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
    out.resize(deflateBound(&zs, in.size()) + 64);
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.next_out = out.data();
    size_t in_left = in.size();
    for (;;) {
        size_t chunk = std::min<size_t>(in_left, UINT_MAX);
        zs.avail_in = static_cast<uInt>(chunk);
        size_t out_room = out.size() - zs.total_out;
        zs.avail_out = static_cast<uInt>(std::min<size_t>(out_room, UINT_MAX));
        bool last = chunk == in_left;
        int rc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
        in_left -= chunk - zs.avail_in;
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) return {};
        if (zs.total_out == out.size()) out.resize(out.size() * 2);  // bound was not enough
        zs.next_out = out.data() + zs.total_out;
    }
    out.resize(zs.total_out);
    return out;
}

// ---- snappy ----

// Appends one raw snappy block to out[used..]; out has already been sized to hold it.
bool unsnappy_block(const uint8_t* p, size_t n, uint8_t* dst, size_t expected) {
    size_t produced = expected;
    if (snappy_uncompress(reinterpret_cast<const char*>(p), n, reinterpret_cast<char*>(dst),
                          &produced) != SNAPPY_OK) {
        return false;
    }
    return produced == expected;
}

// Decoded length a raw snappy block claims, rejected when no valid block could produce it.
bool snappy_block_length(const uint8_t* p, size_t n, size_t& length) {
    if (snappy_uncompressed_length(reinterpret_cast<const char*>(p), n, &length) != SNAPPY_OK) {
        return false;
    }
    return length / snappy_max_ratio <= n;
}

bool unsnappy(std::span<const uint8_t> in, std::vector<uint8_t>& out, size_t max_out) {
    out.clear();
    if (!starts_with_xerial_magic(in)) {
        size_t length = 0;
        if (!snappy_block_length(in.data(), in.size(), length) || length > max_out) return false;
        out.reserve(length);
        out.resize(length);
        return unsnappy_block(in.data(), in.size(), out.data(), length);
    }

    // First pass over the block headers only: sums the decoded size so the output is allocated
    // once, exactly, and an oversized stream is rejected before any decoding.
    size_t total = 0;
    for (size_t pos = 0; pos < in.size();) {
        if (in.size() - pos >= xerial_header_size &&
            std::memcmp(in.data() + pos, xerial_magic, sizeof(xerial_magic)) == 0) {
            pos += xerial_header_size;  // concatenated streams repeat the header
            continue;
        }
        if (in.size() - pos < 4) return false;
        size_t block = load_be32(in.data() + pos);
        pos += 4;
        if (block == 0 || block > in.size() - pos) return false;
        size_t length = 0;
        if (!snappy_block_length(in.data() + pos, block, length)) return false;
        if (length > max_out - total) return false;
        total += length;
        pos += block;
    }
    out.reserve(total);
    out.resize(total);
    size_t used = 0;
    for (size_t pos = 0; pos < in.size();) {
        if (in.size() - pos >= xerial_header_size &&
            std::memcmp(in.data() + pos, xerial_magic, sizeof(xerial_magic)) == 0) {
            pos += xerial_header_size;
            continue;
        }
        size_t block = load_be32(in.data() + pos);
        pos += 4;
        size_t length = 0;
        snappy_block_length(in.data() + pos, block, length);
        if (!unsnappy_block(in.data() + pos, block, out.data() + used, length)) return false;
        used += length;
        pos += block;
    }
    return true;
}

std::vector<uint8_t> snappy_xerial(std::span<const uint8_t> in) {
    std::vector<uint8_t> out(xerial_header_size);
    std::memcpy(out.data(), xerial_magic, sizeof(xerial_magic));
    store_be32(out.data() + 8, 1);   // version
    store_be32(out.data() + 12, 1);  // minimum compatible version
    for (size_t pos = 0; pos < in.size(); pos += xerial_block_size) {
        size_t n = std::min(xerial_block_size, in.size() - pos);
        size_t at = out.size();
        size_t compressed = snappy_max_compressed_length(n);
        out.resize(at + 4 + compressed);
        if (snappy_compress(reinterpret_cast<const char*>(in.data() + pos), n,
                            reinterpret_cast<char*>(out.data() + at + 4),
                            &compressed) != SNAPPY_OK) {
            return {};
        }
        store_be32(out.data() + at, static_cast<uint32_t>(compressed));
        out.resize(at + 4 + compressed);
    }
    return out;
}

// ---- lz4 ----

bool unlz4(std::span<const uint8_t> in, std::vector<uint8_t>& out, size_t max_out) {
    LZ4F_dctx* dctx = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) return false;
    std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> guard(
        dctx, LZ4F_freeDecompressionContext);

    bounded_output o(out, max_out, initial_guess(in.size()));
    const uint8_t* src = in.data();
    size_t left = in.size();
    size_t hint = 1;  // non-zero until a frame has been completely decoded
    while (left > 0 || hint != 0) {
        o.make_room();
        size_t produced = o.room();
        size_t consumed = left;
        hint = LZ4F_decompress(dctx, o.next(), &produced, src, &consumed, nullptr);
        if (LZ4F_isError(hint)) return false;
        if (!o.commit(produced)) return false;
        src += consumed;
        left -= consumed;
        // No progress with room to spare: the input ended inside a frame.
        if (produced == 0 && consumed == 0) return false;
        // hint == 0 ends a frame; anything left is another frame, decoded by the same context.
    }
    o.finish();
    return true;
}

std::vector<uint8_t> lz4_frame(std::span<const uint8_t> in, int level) {
    // What Kafka's Lz4BlockOutputStream writes (and its reader insists on): independent blocks,
    // no dictionary id; 64 KiB blocks as its default.
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.frameType = LZ4F_frame;
    prefs.compressionLevel = level;
    std::vector<uint8_t> out(LZ4F_compressFrameBound(in.size(), &prefs));
    size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
    if (LZ4F_isError(n)) return {};
    out.resize(n);
    return out;
}

// ---- zstd ----

struct zstd_dctx_deleter {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
struct zstd_cctx_deleter {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

// Contexts are costly to create (hundreds of KiB of tables), so each thread keeps one.
ZSTD_DCtx* thread_dctx() {
    thread_local std::unique_ptr<ZSTD_DCtx, zstd_dctx_deleter> dctx(ZSTD_createDCtx());
    return dctx.get();
}

ZSTD_CCtx* thread_cctx() {
    thread_local std::unique_ptr<ZSTD_CCtx, zstd_cctx_deleter> cctx(ZSTD_createCCtx());
    return cctx.get();
}

bool unzstd(std::span<const uint8_t> in, std::vector<uint8_t>& out, size_t max_out) {
    ZSTD_DCtx* dctx = thread_dctx();
    if (dctx == nullptr) return false;
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);

    // librdkafka writes one frame with its content size: decode it in one call when the claimed
    // size is plausible for the input (a tiny frame claiming max_out would otherwise make us
    // allocate and zero max_out bytes before noticing it is truncated).
    unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
    if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != ZSTD_CONTENTSIZE_ERROR) {
        if (content > max_out) return false;
        bool plausible = content <= one_shot_min || content / one_shot_ratio <= in.size();
        if (plausible && ZSTD_findFrameCompressedSize(in.data(), in.size()) == in.size()) {
            out.clear();
            out.reserve(content);
            out.resize(content);
            size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), in.data(), in.size());
            return !ZSTD_isError(n) && n == content;
        }
    }

    // Streaming: the Java client (zstd-jni streams) writes no content size.
    bounded_output o(out, max_out, initial_guess(in.size()));
    ZSTD_inBuffer src{in.data(), in.size(), 0};
    size_t hint = 1;  // non-zero until a frame has been completely decoded and flushed
    while (src.pos < src.size || hint != 0) {
        o.make_room();
        ZSTD_outBuffer dst{o.next(), o.room(), 0};
        size_t before = src.pos;
        hint = ZSTD_decompressStream(dctx, &dst, &src);
        if (ZSTD_isError(hint)) return false;
        if (!o.commit(dst.pos)) return false;
        if (dst.pos == 0 && src.pos == before) return false;  // input ended inside a frame
    }
    o.finish();
    return true;
}

std::vector<uint8_t> zstd(std::span<const uint8_t> in, int level) {
    ZSTD_CCtx* cctx = thread_cctx();
    if (cctx == nullptr) return {};
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
    size_t n = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(n)) return {};
    out.resize(n);
    return out;
}

}  // namespace

bool decompress(compression_codec codec, std::span<const uint8_t> in, std::vector<uint8_t>& out,
                size_t max_out) {
    switch (codec) {
        case compression_codec::none:
            if (in.size() > max_out) return false;
            out.assign(in.begin(), in.end());
            return true;
        case compression_codec::gzip:
            return gunzip(in, out, max_out);
        case compression_codec::snappy:
            return unsnappy(in, out, max_out);
        case compression_codec::lz4:
            return unlz4(in, out, max_out);
        case compression_codec::zstd:
            return unzstd(in, out, max_out);
    }
    return false;
}

std::vector<uint8_t> compress(compression_codec codec, std::span<const uint8_t> in,
                              std::optional<int32_t> level) {
    switch (codec) {
        case compression_codec::none:
            return std::vector<uint8_t>(in.begin(), in.end());
        case compression_codec::gzip:
            // -1 is Kafka's "default", zlib's 6.
            return gzip(in, level && *level != -1 ? *level : Z_DEFAULT_COMPRESSION);
        case compression_codec::snappy:
            return snappy_xerial(in);
        case compression_codec::lz4:
            // Kafka's lz4 writer (Lz4BlockOutputStream) uses the fast compressor at the default
            // level 9 and LZ4 HC at any other; liblz4's frame API does the same with level 0 and
            // its HC levels 3-12 (1-2 are taken as 3, 13-17 as 12).
            if (!level || *level == 9) return lz4_frame(in, 0);
            return lz4_frame(in, std::clamp(*level, LZ4HC_CLEVEL_MIN, LZ4HC_CLEVEL_MAX));
        case compression_codec::zstd:
            return zstd(in, level.value_or(3));  // Kafka's default level
    }
    return {};
}

}  // namespace runnel::protocol
