// A table of a register-tile template's instances over its two compile-time sizes, looked up
// at run time by the sizes a call needs: table[a - 1][b - 1] = Tiles::template at<a, b>() for
// a in 1..A and b in 1..B. The AVX-512 matmul kernels keep one per weight type: the full tile
// for most of a call, smaller ones for its last rows or tokens. `Tiles` names the function
// pointer type `Fn` and `at`, which may return nullptr for sizes a kernel never uses (they are
// then not compiled).
#pragma once

#include <array>
#include <utility>

namespace socle::engine {

template <typename Fn, int A, int B>
using TileTable = std::array<std::array<Fn, B>, A>;

namespace tile_table_detail {

template <typename Tiles, int B, int I, int... J>
constexpr std::array<typename Tiles::Fn, B> row(std::integer_sequence<int, J...> /*unused*/) {
  return {Tiles::template at<I + 1, J + 1>()...};
}

template <typename Tiles, int A, int B, int... I>
constexpr TileTable<typename Tiles::Fn, A, B> table(std::integer_sequence<int, I...> /*unused*/) {
  return {row<Tiles, B, I>(std::make_integer_sequence<int, B>())...};
}

}  // namespace tile_table_detail

template <typename Tiles, int A, int B>
constexpr TileTable<typename Tiles::Fn, A, B> make_tile_table() {
  return tile_table_detail::table<Tiles, A, B>(std::make_integer_sequence<int, A>());
}

}  // namespace socle::engine
