// French stop words: the function words the lexical index drops (articles, pronouns,
// prepositions, conjunctions, negation, the commonest forms of être and avoir). The list is
// socle's own, written for this project from French grammar, not taken from another
// project's list. It is kept short on purpose: words that are also common nouns in
// administrative text ("sommes", "biens", "point") are not in it.
// Entries are folded (lowercase, no accents: "à" is "a", "où" is "ou", "été" is "ete"),
// since the tokenizer drops stop words after folding.
#pragma once

#include <span>
#include <string_view>

namespace socle::rag {

// True when `folded` (a word already lowercased and folded) is a stop word.
bool french_stop_word(std::string_view folded);

// The whole list, for tests.
std::span<const std::string_view> french_stop_words();

}  // namespace socle::rag
