// Times the norm, RoPE, activation, softmax and attention kernels on every kernel path this
// CPU runs, at the shapes of a 7-8B llama (dim 4096, 32 query and 8 key/value heads of 128),
// one thread, and prints each path's time per call and its speed-up over the scalar path
// measured in the same run. Each path's output is checked against the scalar one first.
// Attention is also timed on every hardware thread, against itself on one.
// Matmul (F32, F16, Q8_0, Q4_0, Q4_K; 2048 x 2048 weights, 1, 8, 64 and 512 tokens) is timed
// on the AVX2 path (one dot product per row and token) and the AVX-512 path (tiles of rows by
// tokens, matmul_tiled.h: float weights as stored; quantised ones as stored, which that path
// computes one AVX-512 dot product per row and token, and packed, as models load them) on one
// thread and on every hardware thread, printing multiply-adds x 2 per second, the speed-ups
// and the cost of n tokens over one token's on the same path.
// `kernels_bench stream [TYPE]` times the packed matmul streaming 1.5 GB of weights from
// DRAM against the same work in cache (bench_stream); `kernels_bench paged` times decode
// attention over a paged KV cache of 1.3 GB in its two block layouts and in a KvPool's own
// memory, and a step's writes of new rows (bench_paged).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/f16_values.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/norm.h"
#include "engine/kernels/packed_weights.h"
#include "engine/kernels/quant.h"
#include "engine/kernels/rope.h"
#include "engine/kv/kv_pool.h"

namespace socle::engine {
namespace {

// Each measurement repeats a call for at least this long, and keeps the best of three.
constexpr double MIN_SECONDS = 0.1;
constexpr int ROUNDS = 3;
// Outputs of different paths agree to this relative to the output's largest magnitude
// (the tests hold each kernel to its own, tighter, stated bound).
constexpr double CHECK_TOLERANCE = 1e-4;

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> out(n);
  for (float& x : out)
    x = dist(rng);
  return out;
}

// `rows` x `cols` float weights stored as `type`, row by row.
std::vector<uint8_t> stored_rows(DType type, const std::vector<float>& wf, int64_t rows,
                                 int64_t cols) {
  size_t row_bytes = dtype_row_bytes(type, cols);
  std::vector<uint8_t> wq(row_bytes * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    quantize_row(type, wf.data() + r * cols, wq.data() + static_cast<size_t>(r) * row_bytes, cols);
  return wq;
}

// The clock: wall time, or with BENCH_CPU_TIME=1 the calling thread's CPU time, which a
// loaded machine's other processes do not inflate (meaningful for one-thread runs only).
double now_seconds() {
  static const bool CPU_TIME = [] {
    const char* v = std::getenv("BENCH_CPU_TIME");
    return v != nullptr && std::string(v) == "1";
  }();
  if (!CPU_TIME) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double seconds_per_call(const std::function<void()>& fn) {
  double best = 1e30;
  for (int round = 0; round < ROUNDS; ++round) {
    int64_t calls = 0;
    double start = now_seconds();
    double elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = now_seconds() - start;
    } while (elapsed < MIN_SECONDS);
    best = std::min(best, elapsed / static_cast<double>(calls));
  }
  return best;
}

bool close_enough(const std::vector<float>& got, const std::vector<float>& want) {
  double scale = 0;
  for (float w : want)
    scale = std::max(scale, static_cast<double>(std::fabs(w)));
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= CHECK_TOLERANCE * scale)) return false;
  }
  return true;
}

// A kernel run: writes its output into `out` (sized by the caller) on `path`.
using Run = std::function<void(KernelPath path, std::vector<float>& out)>;

bool bench(const std::string& name, size_t out_size, const Run& run) {
  std::vector<float> want(out_size), got(out_size);
  run(KernelPath::SCALAR, want);
  double scalar = 0;
  bool ok = true;
  for (KernelPath path : kernel_paths_supported()) {
    run(path, got);
    if (!close_enough(got, want)) {
      std::printf("%-34s %-7s MISMATCH with the scalar path\n", name.c_str(),
                  kernel_path_name(path));
      ok = false;
      continue;
    }
    double s = seconds_per_call([&] { run(path, got); });
    if (path == KernelPath::SCALAR) scalar = s;
    std::printf("%-34s %-7s %10.2f us  x%.2f vs scalar\n", name.c_str(), kernel_path_name(path),
                s * 1e6, scalar / s);
  }
  return ok;
}

// Matmul at the shape of a 2048-wide model's attention projections, as the engine bench's
// models have.
bool bench_matmul(const std::string& only) {
  constexpr int64_t ROWS = 2048, COLS = 2048;
  constexpr int64_t CHECK_N = 8;  // the scalar path checks the others on this many tokens
  bool ok = true;
  auto x = random_floats(512 * COLS, 21);
  auto wf = random_floats(ROWS * COLS, 22, 1.0f / 45.0f);
  int n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (DType type : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_K}) {
    if (!only.empty() && only != dtype_name(type)) continue;
    std::vector<uint8_t> wq = stored_rows(type, wf, ROWS, COLS);
    WeightView w{type, wq.data(), ROWS, COLS};
    // The packed layout (packed_weights.h) where the type has one: what models load.
    PackedBytes packed;
    WeightView wp = w;
    if (packed_layout_covers(type)) {
      packed = pack_weights(w);
      wp.packed = packed.get();
    }
    ThreadPool one(1);
    std::vector<float> want(CHECK_N * ROWS), got(CHECK_N * ROWS);
    matmul(want.data(), x.data(), w, nullptr, CHECK_N, KernelPath::SCALAR, one);
    auto paths = kernel_paths_supported();
    bool has_avx512 = std::find(paths.begin(), paths.end(), KernelPath::AVX512) != paths.end();
    for (KernelPath path : {KernelPath::AVX2, KernelPath::AVX512}) {
      if (std::find(paths.begin(), paths.end(), path) == paths.end()) continue;
      for (const WeightView* v : {&w, &wp}) {
        matmul(got.data(), x.data(), *v, nullptr, CHECK_N, path, one);
        if (!close_enough(got, want)) {
          std::printf("matmul %-5s %-7s%s MISMATCH with the scalar path\n", dtype_name(type),
                      kernel_path_name(path), v->packed != nullptr ? " packed" : "");
          ok = false;
        }
      }
    }
    if (!has_avx512) continue;
    for (int threads : {1, n_threads}) {
      ThreadPool pool(threads);
      std::vector<float> out(512 * ROWS);
      double avx2_single = 0, avx512_single = 0, packed_single = 0;
      for (int64_t n : {1, 8, 64, 512}) {
        auto time = [&](KernelPath path, const WeightView& v) {
          return seconds_per_call([&] { matmul(out.data(), x.data(), v, nullptr, n, path, pool); });
        };
        double avx2 = time(KernelPath::AVX2, w);
        double avx512 = time(KernelPath::AVX512, w);
        double packed_s = wp.packed != nullptr ? time(KernelPath::AVX512, wp) : avx512;
        if (n == 1) {
          avx2_single = avx2;
          avx512_single = avx512;
          packed_single = packed_s;
        }
        double ops = 2.0 * ROWS * COLS * static_cast<double>(n);
        std::printf(
            "matmul %-5s 2048x2048 n=%-3lld %dt  avx2 %6.1f Gop/s n/1 x%6.2f  avx512 "
            "%6.1f Gop/s n/1 x%6.2f x%.2f vs avx2",
            dtype_name(type), static_cast<long long>(n), threads, ops / avx2 * 1e-9,
            avx2 / avx2_single, ops / avx512 * 1e-9, avx512 / avx512_single, avx2 / avx512);
        if (wp.packed != nullptr) {
          std::printf("  avx512 packed %6.1f Gop/s n/1 x%6.2f x%.2f vs unpacked",
                      ops / packed_s * 1e-9, packed_s / packed_single, avx512 / packed_s);
        }
        std::printf("\n");
      }
    }
  }
  return ok;
}

// Matmul streaming its weights from DRAM, as a decode step does: packed 2048 x 2048 matrices
// of 1.5 GB in all (more than the L3), called one after another, against one of them called
// as many times (in cache), on every thread: 1 token streamed (the stream is the limit), 8
// tokens in cache (the arithmetic), and 8 tokens streamed, which takes between the longer of
// the two (arithmetic and stream fully overlapped) and their sum (not at all).
bool bench_stream(const std::string& only) {
  constexpr int64_t ROWS = 2048, COLS = 2048;
  constexpr double STREAM_BYTES = 1.5e9;
  constexpr int ROUNDS_STREAM = 5;
  int n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(n_threads);
  auto x = random_floats(8 * COLS, 21);
  auto wf = random_floats(ROWS * COLS, 22, 1.0f / 45.0f);
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q4_K}) {
    if (!only.empty() && only != dtype_name(type)) continue;
    std::vector<uint8_t> wq = stored_rows(type, wf, ROWS, COLS);
    WeightView w{type, wq.data(), ROWS, COLS};
    auto mats = static_cast<int64_t>(STREAM_BYTES / static_cast<double>(wq.size()));
    std::vector<PackedBytes> packed;
    for (int64_t i = 0; i < mats; ++i)
      packed.push_back(pack_weights(w));
    std::vector<float> out(8 * ROWS);
    double gb = static_cast<double>(mats) * static_cast<double>(wq.size()) * 1e-9;
    auto run = [&](int64_t n, bool stream) {
      double best = 1e30;
      for (int round = 0; round < ROUNDS_STREAM; ++round) {
        double start = now_seconds();
        for (int64_t i = 0; i < mats; ++i) {
          WeightView v = w;
          v.packed = packed[static_cast<size_t>(stream ? i : 0)].get();
          matmul(out.data(), x.data(), v, nullptr, n, KernelPath::AVX512, pool);
        }
        best = std::min(best, now_seconds() - start);
      }
      return best;
    };
    double stream_1 = run(1, true), cache_8 = run(8, false), stream_8 = run(8, true);
    std::printf(
        "stream %-5s %.2f GB %dt: n=1 streamed %5.1f ms (%4.1f GB/s); n=8 in cache %5.1f ms, "
        "streamed %5.1f ms: x%.2f the longer of the two (1: they overlap fully), x%.2f their "
        "sum (1: not at all)\n",
        dtype_name(type), gb, n_threads, stream_1 * 1e3, gb / stream_1, cache_8 * 1e3,
        stream_8 * 1e3, stream_8 / std::max(stream_1, cache_8), stream_8 / (stream_1 + cache_8));
  }
  return true;
}

// Decode attention over a paged KV cache, as a serving step of many sequences runs it: 64
// sequences of 160 positions (BENCH_POSITIONS=P: 10,240 / P sequences of P positions), 8 key/value
// heads of 64 (4 query heads each), 31 layers, in blocks of 16 positions shuffled in a pool of 1.3
// GB (more than the L3: each step reads its keys and values from DRAM), on every thread, on the
// fastest path. KvPool's blocks (each head's rows together) against rows of every head (its layout
// before 3149260), whose outputs must be the same bits; KvPool's blocks in a KvPool (on huge pages,
// kv_pool.h) against the same in a std::vector (4 KiB pages where transparent huge pages are not
// `always`); and an F16 KvPool of the same values against the float32 one, whose output must be the
// bits of the float32 blocks holding the values rounded to f16.
bool bench_paged() {
  constexpr int64_t KV_HEADS = 8, GROUP = 4, HEAD_DIM = 64;
  constexpr int64_t LAYERS = 31, BLOCK = 16, ROUNDS_PAGED = 5, ALL_POSITIONS = 64 * 160;
  constexpr int64_t KV_DIM = KV_HEADS * HEAD_DIM, Q_DIM = KV_HEADS * GROUP * HEAD_DIM;
  // BENCH_POSITIONS sets each sequence's context; the pool keeps its 10,240 positions a layer.
  const char* positions_env = std::getenv("BENCH_POSITIONS");
  const int64_t POSITIONS = positions_env ? std::atoll(positions_env) : 160;
  if (POSITIONS < BLOCK || POSITIONS > ALL_POSITIONS || POSITIONS % BLOCK != 0) {
    std::fprintf(stderr, "BENCH_POSITIONS must be a multiple of %ld from %ld to %ld\n",
                 static_cast<long>(BLOCK), static_cast<long>(BLOCK),
                 static_cast<long>(ALL_POSITIONS));
    return false;
  }
  const int64_t SEQS = ALL_POSITIONS / POSITIONS;
  const int64_t BLOCKS_PER_SEQ = POSITIONS / BLOCK;
  const int64_t BLOCKS = LAYERS * SEQS * BLOCKS_PER_SEQ;
  constexpr int64_t BLOCK_FLOATS = BLOCK * KV_DIM;
  int n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(n_threads);
  KernelPath path = kernel_paths_supported().back();
  // Keys and values by (block, position, head, dim); a cheap hash fills 1.3 GB in a moment.
  std::vector<float> rows_k(static_cast<size_t>(BLOCKS * BLOCK_FLOATS));
  std::vector<float> rows_v(rows_k.size());
  for (size_t i = 0; i < rows_k.size(); ++i) {
    auto hash = static_cast<uint32_t>(i * 2654435761u);
    rows_k[i] = static_cast<float>(hash >> 8) / 16777216.0f - 0.5f;
    rows_v[i] = static_cast<float>((hash * 40503u) >> 8) / 16777216.0f - 0.5f;
  }
  // The same keys and values with each block's rows grouped by head.
  std::vector<float> heads_k(rows_k.size()), heads_v(rows_v.size());
  for (int64_t b = 0; b < BLOCKS; ++b) {
    for (int64_t r = 0; r < BLOCK; ++r) {
      for (int64_t h = 0; h < KV_HEADS; ++h) {
        auto from = static_cast<std::ptrdiff_t>(b * BLOCK_FLOATS + r * KV_DIM + h * HEAD_DIM);
        auto to =
            static_cast<std::ptrdiff_t>(b * BLOCK_FLOATS + h * BLOCK * HEAD_DIM + r * HEAD_DIM);
        std::copy_n(rows_k.begin() + from, HEAD_DIM, heads_k.begin() + to);
        std::copy_n(rows_v.begin() + from, HEAD_DIM, heads_v.begin() + to);
      }
    }
  }
  // Each (layer, sequence) takes BLOCKS_PER_SEQ blocks of a shuffled order.
  std::vector<int64_t> order(static_cast<size_t>(BLOCKS));
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = static_cast<int64_t>(i);
  std::shuffle(order.begin(), order.end(), std::mt19937(5));
  auto q = random_floats(static_cast<size_t>(SEQS * Q_DIM), 31);
  AttentionParams p;
  p.n_heads = KV_HEADS * GROUP;
  p.n_kv_heads = KV_HEADS;
  p.head_dim = HEAD_DIM;
  p.scale = 1.0f / std::sqrt(static_cast<float>(HEAD_DIM));
  // The head-grouped keys and values once more, in a KvPool's own memory (huge pages).
  KvPool kv_pool(1, BLOCKS, BLOCK, KV_HEADS, HEAD_DIM);
  for (int64_t b = 0; b < BLOCKS; ++b) {
    auto from = static_cast<std::ptrdiff_t>(b * BLOCK_FLOATS);
    std::copy_n(heads_k.begin() + from, BLOCK_FLOATS,
                static_cast<float*>(kv_pool.keys(0, static_cast<int32_t>(b))));
    std::copy_n(heads_v.begin() + from, BLOCK_FLOATS,
                static_cast<float*>(kv_pool.values(0, static_cast<int32_t>(b))));
  }
  // The same values again in an F16 KvPool, narrowed as KvPool::write narrows them.
  KvPool half_pool(1, BLOCKS, BLOCK, KV_HEADS, HEAD_DIM, DType::F16);
  for (int64_t b = 0; b < BLOCKS; ++b) {
    auto from = static_cast<std::ptrdiff_t>(b * BLOCK_FLOATS);
    auto block = static_cast<int32_t>(b);
    f32_to_f16_values(static_cast<uint16_t*>(half_pool.keys(0, block)), heads_k.data() + from,
                      BLOCK_FLOATS, path);
    f32_to_f16_values(static_cast<uint16_t*>(half_pool.values(0, block)), heads_v.data() + from,
                      BLOCK_FLOATS, path);
  }
  enum class Memory { ROWS, HEADS, POOL, HALF_POOL };
  auto run = [&](Memory memory, std::vector<float>& out) {
    bool by_head = memory != Memory::ROWS;
    const KvPool& in_pool = memory == Memory::HALF_POOL ? half_pool : kv_pool;
    bool pooled = memory == Memory::POOL || memory == Memory::HALF_POOL;
    std::vector<const void*> k_table(static_cast<size_t>(BLOCKS)), v_table(k_table.size());
    for (size_t i = 0; i < k_table.size(); ++i) {
      auto b = static_cast<int32_t>(order[i]);
      k_table[i] = pooled    ? in_pool.keys(0, b)
                   : by_head ? heads_k.data() + b * BLOCK_FLOATS
                             : rows_k.data() + b * BLOCK_FLOATS;
      v_table[i] = pooled    ? in_pool.values(0, b)
                   : by_head ? heads_v.data() + b * BLOCK_FLOATS
                             : rows_v.data() + b * BLOCK_FLOATS;
    }
    std::vector<AttentionSeq> seqs(static_cast<size_t>(SEQS));
    double best = 1e30;
    for (int round = 0; round < ROUNDS_PAGED; ++round) {
      double start = now_seconds();
      for (int64_t l = 0; l < LAYERS; ++l) {
        for (int64_t s = 0; s < SEQS; ++s) {
          auto first = static_cast<size_t>((l * SEQS + s) * BLOCKS_PER_SEQ);
          AttentionSeq& seq = seqs[static_cast<size_t>(s)];
          seq.out = out.data() + s * Q_DIM;
          seq.q = q.data() + s * Q_DIM;
          seq.n_q = 1;
          seq.q_pos0 = POSITIONS - 1;
          seq.n_kv = POSITIONS;
          seq.kv = KvBlocks{{&k_table[first], static_cast<size_t>(BLOCKS_PER_SEQ)},
                            {&v_table[first], static_cast<size_t>(BLOCKS_PER_SEQ)},
                            BLOCK,
                            by_head ? BLOCK * HEAD_DIM : HEAD_DIM,
                            by_head ? HEAD_DIM : KV_DIM,
                            in_pool.type()};
        }
        attention_paged(seqs, p, path, pool);
      }
      best = std::min(best, now_seconds() - start);
    }
    return best;
  };
  std::vector<float> out_rows(static_cast<size_t>(SEQS * Q_DIM));
  std::vector<float> out_heads(out_rows.size()), out_pool(out_rows.size());
  double rows = run(Memory::ROWS, out_rows);
  double heads = run(Memory::HEADS, out_heads);
  double in_pool = run(Memory::POOL, out_pool);
  bool same = out_rows == out_heads && out_heads == out_pool;
  std::vector<float> out_half(out_rows.size()), out_rounded(out_rows.size());
  double in_half = run(Memory::HALF_POOL, out_half);
  // The float32 vector's values rounded to f16 must give the F16 pool's bits.
  for (auto* values : {&heads_k, &heads_v}) {
    for (float& x : *values)
      x = f16_to_f32(f32_to_f16(x));
  }
  run(Memory::HEADS, out_rounded);
  bool same_half = out_half == out_rounded;
  // A step's new rows (one position of each sequence in every layer) written into blocks
  // touched before, with the caches emptied in between as a step's 1.5 GB of weights would:
  // by hand into the vector, through KvPool::write into the pool. Step i writes row i of each
  // (layer, sequence)'s i-th block.
  std::vector<float> new_k(static_cast<size_t>(KV_DIM), 0.25f), new_v(new_k.size(), 0.5f);
  std::vector<float> evict(size_t{64} << 20 >> 2, 1.0f);  // 64 MiB: more than the L3
  volatile float sink = 0;
  enum class Into { VECTOR, POOL, HALF_POOL };
  auto time_writes = [&](Into into) {
    double best = 1e30;
    for (int64_t step = 0; step < BLOCKS_PER_SEQ; ++step) {
      float sum = 0;
      for (size_t i = 0; i < evict.size(); i += 16)
        sum += evict[i];
      sink = sink + sum;
      double start = now_seconds();
      for (int64_t l = 0; l < LAYERS; ++l) {
        for (int64_t s = 0; s < SEQS; ++s) {
          int64_t b = order[static_cast<size_t>((l * SEQS + s) * BLOCKS_PER_SEQ + step)];
          int64_t row = step % BLOCK;
          if (into != Into::VECTOR) {
            KvPool& to = into == Into::POOL ? kv_pool : half_pool;
            to.write(0, static_cast<int32_t>(b), row, new_k.data(), new_v.data(), path);
            continue;
          }
          for (int64_t h = 0; h < KV_HEADS; ++h) {
            auto to = static_cast<std::ptrdiff_t>(b * BLOCK_FLOATS + h * BLOCK * HEAD_DIM +
                                                  row * HEAD_DIM);
            std::copy_n(new_k.begin() + h * HEAD_DIM, HEAD_DIM, heads_k.begin() + to);
            std::copy_n(new_v.begin() + h * HEAD_DIM, HEAD_DIM, heads_v.begin() + to);
          }
        }
      }
      best = std::min(best, now_seconds() - start);
    }
    return best;
  };
  double write_heads = time_writes(Into::VECTOR), write_pool = time_writes(Into::POOL);
  double write_half = time_writes(Into::HALF_POOL);
  double gb = 2.0 * LAYERS * SEQS * POSITIONS * KV_DIM * sizeof(float) * 1e-9;
  std::printf(
      "paged decode attention, %ld sequences x %ld positions x %ld layers (%.2f GB of keys and "
      "values), %s, %dt: rows of every head %6.1f ms (%4.1f GB/s), rows grouped by head "
      "%6.1f ms (%4.1f GB/s): x%.2f; the same in a KvPool (huge pages) %6.1f ms: x%.2f "
      "again%s; in an F16 KvPool %6.1f ms (%4.1f GB/s): x%.2f against the float32 pool%s\n"
      "paged KV writes of one step (one row of each sequence in each layer, into blocks "
      "touched before, caches emptied): %.2f ms in a vector, %.2f ms in a KvPool: x%.2f, "
      "%.2f ms in an F16 KvPool\n",
      static_cast<long>(SEQS), static_cast<long>(POSITIONS), static_cast<long>(LAYERS), gb,
      kernel_path_name(path), n_threads, rows * 1e3, gb / rows, heads * 1e3, gb / heads,
      rows / heads, in_pool * 1e3, heads / in_pool,
      same ? "" : " MISMATCH: the layouts give different bits", in_half * 1e3, gb / 2 / in_half,
      in_pool / in_half,
      same_half ? "" : " MISMATCH: not the bits of the rounded values in float32",
      write_heads * 1e3, write_pool * 1e3, write_heads / write_pool, write_half * 1e3);
  return same && same_half;
}

int run_all() {
  ThreadPool one(1);
  constexpr int64_t DIM = 4096, ROWS = 16, HEADS = 32, KV_HEADS = 8, HEAD_DIM = 128;
  constexpr int64_t FFN = 14336, CONTEXT = 4096;
  bool ok = true;

  auto x = random_floats(ROWS * DIM, 1, 2.0f);
  auto w = random_floats(DIM, 2);
  auto b = random_floats(DIM, 3);
  ok &= bench("rmsnorm 16 x 4096", x.size(), [&](KernelPath p, std::vector<float>& out) {
    rmsnorm(out.data(), x.data(), w.data(), ROWS, DIM, 1e-5f, p, one);
  });
  ok &= bench("layernorm 16 x 4096", x.size(), [&](KernelPath p, std::vector<float>& out) {
    layernorm(out.data(), x.data(), w.data(), b.data(), ROWS, DIM, 1e-12f, p, one);
  });

  std::vector<float> freq(HEAD_DIM / 2);
  rope_inv_freq(freq.data(), HEAD_DIM, 500000.0);
  auto heads = random_floats(HEADS * HEAD_DIM, 4);
  for (RopePairing pairing : {RopePairing::HALF, RopePairing::INTERLEAVED}) {
    std::string name =
        pairing == RopePairing::HALF ? "rope half 32 x 128" : "rope interl. 32 x 128";
    ok &= bench(name, heads.size(), [&](KernelPath p, std::vector<float>& out) {
      std::copy(heads.begin(), heads.end(), out.begin());
      rope_apply(out.data(), HEADS, HEAD_DIM, 1000, freq.data(), pairing, p);
    });
  }

  // Element-wise functions over one token's feed-forward width, four tokens.
  auto act = random_floats(4 * FFN, 5, 3.0f);
  auto up = random_floats(act.size(), 6);
  using Unary = void (*)(float*, int64_t, KernelPath, ThreadPool&);
  const std::pair<const char*, Unary> unary[] = {
      {"silu 4 x 14336", silu}, {"gelu 4 x 14336", gelu}, {"gelu_tanh 4 x 14336", gelu_tanh}};
  for (const auto& entry : unary) {
    Unary fn = entry.second;
    ok &= bench(entry.first, act.size(), [&](KernelPath p, std::vector<float>& out) {
      std::copy(act.begin(), act.end(), out.begin());
      fn(out.data(), static_cast<int64_t>(out.size()), p, one);
    });
  }
  ok &= bench("swiglu 4 x 14336", act.size(), [&](KernelPath p, std::vector<float>& out) {
    std::copy(act.begin(), act.end(), out.begin());
    swiglu(out.data(), up.data(), static_cast<int64_t>(out.size()), p, one);
  });
  auto logits = random_floats(CONTEXT, 7, 10.0f);
  ok &= bench("softmax 4096", logits.size(), [&](KernelPath p, std::vector<float>& out) {
    std::copy(logits.begin(), logits.end(), out.begin());
    softmax(out.data(), static_cast<int64_t>(out.size()), p);
  });

  AttentionParams ap;
  ap.n_heads = HEADS;
  ap.n_kv_heads = KV_HEADS;
  ap.head_dim = HEAD_DIM;
  ap.scale = 1.0f / std::sqrt(static_cast<float>(HEAD_DIM));
  auto k = random_floats(CONTEXT * KV_HEADS * HEAD_DIM, 8);
  auto v = random_floats(k.size(), 9);
  auto q = random_floats(HEADS * HEAD_DIM, 10);
  ap.q_pos0 = CONTEXT - 1;
  ok &= bench("attention decode, 4096 keys", q.size(), [&](KernelPath p, std::vector<float>& out) {
    attention(out.data(), q.data(), k.data(), v.data(), 1, CONTEXT, ap, p, one);
  });
  constexpr int64_t PREFILL = 256;
  auto qp = random_floats(PREFILL * HEADS * HEAD_DIM, 11);
  AttentionParams pp = ap;
  pp.q_pos0 = 0;
  ok &=
      bench("attention prefill 256, causal", qp.size(), [&](KernelPath p, std::vector<float>& out) {
        attention(out.data(), qp.data(), k.data(), v.data(), PREFILL, PREFILL, pp, p, one);
      });

  // Threads: the fastest path's decode attention on every hardware thread, against one.
  int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool all(n);
  KernelPath fastest = kernel_paths_supported().back();
  std::vector<float> out(q.size());
  double t1 = seconds_per_call(
      [&] { attention(out.data(), q.data(), k.data(), v.data(), 1, CONTEXT, ap, fastest, one); });
  double tn = seconds_per_call(
      [&] { attention(out.data(), q.data(), k.data(), v.data(), 1, CONTEXT, ap, fastest, all); });
  std::printf("%-34s %-7s %10.2f us  x%.2f vs 1 thread (%d threads)\n",
              "attention decode, 4096 keys", kernel_path_name(fastest), tn * 1e6, t1 / tn, n);
  ok &= bench_matmul("");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace socle::engine

// `kernels_bench matmul [TYPE]` times the matmuls alone (of one weight type: F32, Q8_0, ...).
int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "stream") {
    return socle::engine::bench_stream(argc > 2 ? argv[2] : "") ? 0 : 1;
  }
  if (argc > 1 && std::string(argv[1]) == "paged") {
    return socle::engine::bench_paged() ? 0 : 1;
  }
  if (argc > 1 && std::string(argv[1]) == "matmul") {
    return socle::engine::bench_matmul(argc > 2 ? argv[2] : "") ? 0 : 1;
  }
  return socle::engine::run_all();
}
