// HNSW's recall against the exact scan, at the size where the index switches to HNSW.
#include <gtest/gtest.h>

#include "rag/index/dense_index.h"
#include "unit/engine/temp_dir.h"
#include "unit/rag/index/vectors.h"

namespace socle::rag {
namespace {

using engine::testing::TempDir;
using testing::overlap;
using testing::random_vectors;
using testing::sequential_ids;

constexpr int64_t N = 20000;
constexpr int64_t DIM = 128;
constexpr int64_t N_QUERIES = 100;
constexpr int64_t K = 10;
constexpr double MIN_RECALL = 0.95;

TEST(HnswRecall, TwentyThousandRandomVectors) {
  TempDir tmp;
  auto vectors = random_vectors(N, DIM, 100);
  auto ids = sequential_ids(N);
  auto queries = random_vectors(N_QUERIES, DIM, 101);

  DenseOptions exact_options;
  exact_options.dim = DIM;
  exact_options.exact_max = N;
  DenseOptions hnsw_options = exact_options;
  hnsw_options.exact_max = 0;
  auto exact = DenseIndex::open(tmp.file("exact"), exact_options);
  auto hnsw = DenseIndex::open(tmp.file("hnsw"), hnsw_options);
  ASSERT_TRUE(exact.is_ok() && hnsw.is_ok());
  ASSERT_TRUE((*exact)->add(ids, vectors).is_ok());
  ASSERT_TRUE((*hnsw)->add(ids, vectors).is_ok());
  ASSERT_EQ((*exact)->mode(), DenseMode::EXACT);
  ASSERT_EQ((*hnsw)->mode(), DenseMode::HNSW);

  double sum = 0;
  for (int64_t q = 0; q < N_QUERIES; ++q) {
    std::span<const float> query(queries.data() + q * DIM, DIM);
    auto want = (*exact)->search(query, K);
    auto got = (*hnsw)->search(query, K);
    ASSERT_TRUE(want.is_ok() && got.is_ok());
    sum += overlap(*got, *want);
  }
  double recall = sum / N_QUERIES;
  RecordProperty("recall_at_10", std::to_string(recall));
  EXPECT_GE(recall, MIN_RECALL);
}

}  // namespace
}  // namespace socle::rag
