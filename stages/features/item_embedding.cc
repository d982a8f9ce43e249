// ItemEmbedding: learns d-dimensional item embeddings from the train split by
// a truncated SVD of the user–item matrix (randomized, with power
// iterations; Eigen). Rows are train users, scaled by 1/sqrt(interactions) so
// heavy users do not dominate; the item embedding is V·sqrt(Σ), standardized
// per dimension and mapped into the action space [-1, 1]^d. Items seen only
// in the test split get the zero vector (the catalogue mean). The stage
// buffers (user, item) pairs and emits one ItemTable at Close().
//
// Example:
//   stage {
//     name: "embed" type: "ItemEmbedding"
//     input_stream: "sessions" output_stream: "items"
//     options { [type.googleapis.com/resact.ItemEmbeddingOptions] { dim: 16 } }
//   }
#include "stages/features/item_embedding.h"

#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace resact {

ItemTable ComputeItemEmbeddings(const std::vector<int64_t>& all_items_in,
                                const std::vector<uint32_t>& rows,
                                const std::vector<int64_t>& items,
                                const std::vector<float>& weights, uint32_t num_rows,
                                const ItemEmbeddingOptions& options) {
  using Mat = Eigen::MatrixXf;
  ItemTable table;
  table.dim = options.dim();
  table.item_id = all_items_in;
  std::sort(table.item_id.begin(), table.item_id.end());
  table.item_id.erase(std::unique(table.item_id.begin(), table.item_id.end()),
                      table.item_id.end());
  const int64_t n_items = static_cast<int64_t>(table.size());
  const int d = options.dim();
  table.embedding.assign(static_cast<size_t>(n_items) * d, 0.f);
  if (rows.empty() || n_items == 0 || num_rows == 0) return table;

  // Sparse user × item matrix in CSR, built row by row (rows arrive grouped
  // by user), duplicates summed, rows scaled by 1/sqrt(interactions).
  std::vector<uint8_t> in_train(n_items, 0);
  Eigen::SparseMatrix<float, Eigen::RowMajor> a(num_rows, n_items);
  a.reserve(static_cast<Eigen::Index>(rows.size()));
  std::vector<std::pair<int32_t, float>> row_entries;
  for (size_t k = 0; k < rows.size();) {
    const uint32_t row = rows[k];
    size_t end = k;
    row_entries.clear();
    while (end < rows.size() && rows[end] == row) {
      row_entries.emplace_back(static_cast<int32_t>(table.Index(items[end])), weights[end]);
      ++end;
    }
    std::sort(row_entries.begin(), row_entries.end());
    const float norm = 1.f / std::sqrt(static_cast<float>(end - k));
    a.startVec(row);
    for (size_t e = 0; e < row_entries.size();) {
      const int32_t col = row_entries[e].first;
      float w = 0;
      while (e < row_entries.size() && row_entries[e].first == col) w += row_entries[e++].second;
      in_train[col] = 1;
      a.insertBack(row, col) = w * norm;
    }
    k = end;
  }
  a.finalize();

  const int l = std::min<int64_t>({static_cast<int64_t>(d + options.oversample()), n_items,
                                   static_cast<int64_t>(num_rows)});
  std::mt19937_64 rng(options.seed());
  std::normal_distribution<float> normal(0, 1);
  Mat omega(n_items, l);
  for (int64_t i = 0; i < omega.size(); ++i) omega.data()[i] = normal(rng);
  auto orthonormal = [](const Mat& m) {
    Eigen::HouseholderQR<Mat> qr(m);
    return Mat(qr.householderQ() * Mat::Identity(m.rows(), m.cols()));
  };
  Mat q = orthonormal(a * omega);
  for (int it = 0; it < options.power_iterations(); ++it) {
    Mat z = orthonormal(a.transpose() * q);
    q = orthonormal(a * z);
  }
  // B = Qᵀ A (l × items); its SVD gives A ≈ Q U Σ Vᵀ.
  Mat bt = a.transpose() * q;  // items × l = Bᵀ
  Eigen::JacobiSVD<Mat> svd(bt, Eigen::ComputeThinU);
  const Mat& v = svd.matrixU();  // items × l, right singular vectors of A
  const auto& sigma = svd.singularValues();
  const int k = std::min(d, l);
  Mat emb = Mat::Zero(n_items, d);
  for (int c = 0; c < k; ++c) {
    // Fix the sign so the largest-magnitude entry is positive (determinism).
    Eigen::Index arg = 0;
    v.col(c).cwiseAbs().maxCoeff(&arg);
    const float sign = v(arg, c) < 0 ? -1.f : 1.f;
    emb.col(c) = sign * v.col(c) * std::sqrt(sigma(c));
  }
  // Standardize over train items, scale, clip; test-only items stay 0.
  const double scale = options.action_scale();
  int64_t n_train = 0;
  for (uint8_t f : in_train) n_train += f;
  for (int c = 0; c < d; ++c) {
    double mean = 0, sq = 0;
    for (int64_t i = 0; i < n_items; ++i) {
      if (in_train[i]) mean += emb(i, c);
    }
    mean /= std::max<int64_t>(1, n_train);
    for (int64_t i = 0; i < n_items; ++i) {
      if (in_train[i]) sq += (emb(i, c) - mean) * (emb(i, c) - mean);
    }
    const double sd = std::sqrt(sq / std::max<int64_t>(1, n_train));
    for (int64_t i = 0; i < n_items; ++i) {
      double x = 0;
      if (in_train[i] && sd > 0) x = (emb(i, c) - mean) / sd / scale;
      table.embedding[static_cast<size_t>(i) * d + c] =
          static_cast<float>(std::clamp(x, -1.0, 1.0));
    }
  }
  return table;
}

absl::Status ItemEmbedding::Init() {
  if (options_.dim() < 1 || options_.dim() > 1024) {
    return absl::InvalidArgumentError("dim: must be in 1..1024");
  }
  if (options_.oversample() < 0) return absl::InvalidArgumentError("oversample: must be >= 0");
  if (options_.power_iterations() < 0) {
    return absl::InvalidArgumentError("power_iterations: must be >= 0");
  }
  if (!(options_.action_scale() > 0)) {
    return absl::InvalidArgumentError("action_scale: must be > 0");
  }
  return absl::OkStatus();
}

absl::Status ItemEmbedding::Open(const StageContext& ctx) {
  ctx_ = &ctx;
  return absl::OkStatus();
}

absl::Status ItemEmbedding::Process(int, const Packet& packet, Emitter&) {
  const SessionBatch& b = packet.Get<SessionBatch>();
  const bool use_fb = options_.weighting() == ItemEmbeddingOptions::FEEDBACK;
  if (use_fb && b.feedback.empty()) {
    return absl::InvalidArgumentError("weighting: FEEDBACK needs a feedback column in the log");
  }
  std::lock_guard<std::mutex> lock(mu_);
  all_items_.insert(all_items_.end(), b.item.begin(), b.item.end());
  for (size_t u = 0; u < b.num_users(); ++u) {
    if (b.is_test[u]) continue;
    const uint32_t row = train_users_++;
    const size_t r0 = b.session_offset[b.user_offset[u]];
    const size_t r1 = b.session_offset[b.user_offset[u + 1]];
    for (size_t r = r0; r < r1; ++r) {
      rows_.push_back(row);
      items_.push_back(b.item[r]);
      weights_.push_back(use_fb ? b.feedback[r] : 1.f);
    }
  }
  // Keep the distinct-item list small as it grows.
  if (all_items_.size() > (1u << 22)) {
    std::sort(all_items_.begin(), all_items_.end());
    all_items_.erase(std::unique(all_items_.begin(), all_items_.end()), all_items_.end());
  }
  ctx_->progress().AddRows(b.num_requests());
  return absl::OkStatus();
}

absl::Status ItemEmbedding::Close(Emitter& out) {
  ctx_->progress().SetPhase("svd");
  auto table = std::make_shared<ItemTable>(ComputeItemEmbeddings(
      all_items_, rows_, items_, weights_, train_users_, options_));
  LOG(INFO) << "[" << ctx_->stage_name() << "] " << table->size() << " items, dim "
            << table->dim << ", from " << rows_.size() << " train interactions of "
            << train_users_ << " users";
  std::vector<uint32_t>().swap(rows_);
  std::vector<int64_t>().swap(items_);
  std::vector<float>().swap(weights_);
  std::vector<int64_t>().swap(all_items_);
  return out.Emit(0, PayloadType::kItemEmbeddings, std::shared_ptr<const ItemTable>(table));
}

RESACT_REGISTER_STAGE(ItemEmbedding);

}  // namespace resact
