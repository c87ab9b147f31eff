// The runner of one decoder model: one scheduler thread owns the weights' use, a paged KV
// cache (engine/kv) and a thread pool, and serves every generation on that model with
// continuous batching (DESIGN.md, principle 5).
//
// Each step the scheduler:
//   1. drops cancelled sequences (their blocks go back at once);
//   2. admits waiting sequences while fewer than max_sequences run and the KV blocks for
//      their prompt are free, taking the users' queues in turn so that one user's many
//      requests do not hold back another's (a prompt that starts like a cached one takes
//      those blocks read-only: the prefix cache);
//   3. builds one batch: a token of every running sequence that is generating, then chunks
//      of the prompts still being read, in admission order, up to max_batch_tokens;
//   4. makes room in the KV cache for that batch; when blocks run short it preempts the
//      sequence admitted last: its blocks are released (published ones stay in the prefix
//      cache) and it goes back to the head of its user's queue, to be recomputed from its
//      prompt and the tokens it already produced when blocks free up. A running sequence is
//      never failed for lack of memory, and its output does not change;
//   5. runs the batch in one forward pass, samples each sequence whose tokens are all read
//      and hands the token to its sink; a sequence ends on a stop token, at max_tokens, when
//      its sink says so (a stop string) or when it is cancelled.
//
// Batch invariance: the forward pass computes each token the same whatever else is in the
// batch, however a prompt was chunked and whether its prefix came from the cache, and each
// sequence samples with its own Sampler; so a request's tokens and log-probabilities depend
// on the request alone (and the binary, kernel path and thread count).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "engine/kernels/thread_pool.h"
#include "engine/kv/block_manager.h"
#include "engine/kv/kv_pool.h"
#include "engine/lora/lora_adapter.h"
#include "engine/models/llama.h"
#include "engine/sampling/sampler.h"

namespace socle::engine::scheduler {

struct RunnerOptions {
  int64_t kv_bytes = int64_t{1} << 30;  // the KV cache's memory budget
  DType kv_type = DType::F32;           // its values: F32, or F16 (twice the positions)
  int32_t block_tokens = 16;            // positions per KV block
  int64_t max_batch_tokens = 256;       // tokens per forward pass
  int32_t max_sequences = 64;           // running at once
  int threads = 1;                      // the runner's own thread pool
};

enum class FinishReason {
  STOP,       // a stop token, or the sink ended it (a stop string)
  LENGTH,     // max_tokens generated
  CANCELLED,  // cancel() or the runner stopping
  ERROR,      // the forward pass refused the batch (a defect: logged)
};
const char* finish_reason_name(FinishReason reason);

// Receives one sequence's output, on the scheduler thread: keep each call short (queue the
// work elsewhere), and never call back into the runner from it except cancel().
class SequenceSink {
 public:
  virtual ~SequenceSink() = default;
  // The prompt's log-probabilities (SequenceRequest::prompt_logprobs): one per prompt token
  // after the first, in order. Called once, before the first on_token.
  virtual void on_prompt_logprobs(std::span<const sampling::Sample> samples) {
    static_cast<void>(samples);
  }
  // The next token. Returning false ends the sequence now (reason STOP).
  virtual bool on_token(const sampling::Sample& sample) = 0;
  // Called once, last, with the number of tokens the sequence sampled (a stop token
  // included: it was generated, as usage counts it).
  virtual void on_finish(FinishReason reason, int64_t generated_tokens) = 0;
};

struct SequenceRequest {
  std::vector<int32_t> prompt;          // at least one token, all in the vocabulary
  int64_t max_tokens = 16;              // >= 1
  sampling::SamplingParams sampling;    // must pass sampling::validate
  std::vector<int32_t> stop_token_ids;  // end the sequence; not passed to the sink
  std::string user;                     // the fairness key: admission takes users in turn
  // >= 0: the log-probability of each prompt token after the first under the model (given
  // the tokens before it), with this many most likely alternatives (at most
  // sampling::MAX_TOP_LOGPROBS), passed once to SequenceSink::on_prompt_logprobs before the
  // first generated token. Every prompt position is then computed: no prefix-cache hit.
  int32_t prompt_logprobs = -1;
  // Applied to this sequence alone (y = W x + scaling * B (A x)); nullptr: the base model.
  // Held until the sequence ends; must fit the model (lora_fits) and not change while held.
  // Its prompt shares prefix-cache blocks only with sequences of the same adapter content
  // (lora_identity), never with the base model's or another adapter's.
  std::shared_ptr<const LoraAdapter> lora;
  // Non-null: the output is constrained to one JSON object (response_format json_object):
  // each token's bytes as these texts give them, then a stop token once the object is closed
  // (sampling::JsonConstraint; stop_token_ids are its end tokens).
  std::shared_ptr<const sampling::TokenTexts> json_object;
};

struct RunnerStats {
  int64_t running = 0;
  int64_t waiting = 0;
  kv::BlockStats blocks;
  int64_t block_tokens = 0;
  int64_t steps = 0;
  int64_t prompt_tokens = 0;     // positions computed for prompts (cache hits excluded)
  int64_t generated_tokens = 0;  // tokens sampled
  int64_t preemptions = 0;
  int64_t finished = 0;
  int64_t cancelled = 0;
};

class Runner {
 public:
  // Starts the scheduler thread. The model must outlive the runner.
  // INVALID_ARGUMENT when the budget holds fewer than two blocks or the options are out of
  // range.
  static Result<std::unique_ptr<Runner>> start(const LlamaModel& model, RunnerOptions options);
  // Cancels every sequence (their sinks get CANCELLED) and joins the thread.
  ~Runner();
  // The same, ahead of the destructor (at shutdown, while what the sinks record into still
  // exists). Later calls do nothing; submit() and cancel() still accept work, which nothing
  // runs.
  void stop();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // The most positions (prompt plus output) one sequence can hold: the whole KV cache.
  int64_t capacity_tokens() const { return capacity_tokens_; }

  // Queues a sequence; returns its id for cancel(). INVALID_ARGUMENT (nothing queued) for an
  // empty prompt, a token outside the vocabulary, max_tokens < 1, prompt + max_tokens beyond
  // capacity_tokens(), sampling parameters that sampling::validate refuses, or an adapter
  // that does not fit the model. The first request with an adapter hashes its values
  // (lora_identity); later ones reuse that while the adapter lives.
  Result<uint64_t> submit(SequenceRequest request, std::shared_ptr<SequenceSink> sink);
  // Ends a sequence (queued or running) at the next step; its sink gets CANCELLED unless it
  // already finished. Any thread.
  void cancel(uint64_t id);

  RunnerStats stats() const;

 private:
  struct Sequence;

  Runner(const LlamaModel& model, RunnerOptions options, int64_t n_blocks);
  void loop();
  // One scheduling step on the scheduler thread; false when there was nothing to do.
  bool step();
  void take_inbox();
  void drop_cancelled();
  void admit();
  void preempt(std::shared_ptr<Sequence> seq);
  // By value: `seq` may be an element of running_, which this erases.
  void finish(std::shared_ptr<Sequence> seq, FinishReason reason);
  // Appends the log-probabilities of the prompt tokens that rows [row, row + n) of `logits`
  // (all of `seq`'s new tokens this step) predict.
  void collect_prompt_logprobs(Sequence& seq, std::span<const float> logits, size_t row, int64_t n);
  void publish_stats();
  // lora_identity(*adapter), computed once per live adapter.
  uint64_t lora_salt(const std::shared_ptr<const LoraAdapter>& adapter);

  const LlamaModel& model_;
  const RunnerOptions options_;
  const int64_t capacity_tokens_;
  ThreadPool threads_;
  KvPool pool_;
  // A step's logits, kept from step to step: megabytes at a large batch, which a fresh vector
  // would take from the kernel, page fault by page fault, every step.
  std::vector<float> logits_;
  kv::BlockManager blocks_;

  // Shared with other threads.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<Sequence>> inbox_;  // guarded by mu_
  std::vector<uint64_t> cancels_;                 // guarded by mu_
  bool stop_ = false;                             // guarded by mu_
  uint64_t next_id_ = 1;                          // guarded by mu_
  RunnerStats stats_;                             // guarded by mu_, a copy of the thread's
  // The identities of the adapters seen, while they live. Keyed by the live object, not by
  // its address alone: an address can be reused once an adapter is gone.
  struct LoraSalt {
    std::weak_ptr<const LoraAdapter> adapter;
    uint64_t salt = 0;
  };
  std::mutex salts_mu_;
  std::vector<LoraSalt> salts_;  // guarded by salts_mu_

  // The scheduler thread's own.
  std::map<std::string, std::deque<std::shared_ptr<Sequence>>> waiting_;  // by user
  std::string next_user_;                           // whose queue admission looks at first
  std::vector<std::shared_ptr<Sequence>> running_;  // in admission order
  RunnerStats counters_;
  std::thread thread_;
};

}  // namespace socle::engine::scheduler
