// Fixtures for tests/e2e/serving_sdk.test.mjs: the golden models of ../shared/golden (random
// weights, no tokenizer) made servable by writing, next to symlinks of their weights, a
// tokenizer that fits their 512-token vocabulary; and a reader of the golden outputs
// (ref.safetensors). Everything is generated here, offline; nothing is downloaded.
//
// Decoders get a byte-level BPE tokenizer as GPT-2 and Llama 3 use (tokenizer.json's ByteLevel
// pre-tokenizer and decoder): ids 0..2 are the special tokens <unk>, <s>, </s> (the golden
// configs say bos 1, eos 2), 3..258 the 256 byte symbols, and 259.. merges learnt on a small
// corpus by the textbook BPE loop, up to the vocabulary size. Encoders get a WordPiece
// tokenizer whose words are "t<id>" (so that a text names the golden ids exactly) with no
// post-processor: a text is its words' ids, with no [CLS] or [SEP], as the golden rows are.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const GOLDEN = process.env.SOCLE_GOLDEN
  ? path.resolve(process.env.SOCLE_GOLDEN)
  : path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'shared', 'golden');

// ---- safetensors ------------------------------------------------------------------------------

const DTYPES = { F32: Float32Array, I32: Int32Array, F64: Float64Array, I64: BigInt64Array };

// Every tensor of a .safetensors file: { name: { dtype, shape, data (a typed array) } }. The
// format: an 8-byte little-endian header length, a JSON header of dtype, shape and
// data_offsets (relative to the end of the header) per tensor, then the raw little-endian data.
export function readSafetensors(file) {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const base = 8 + headerLength;
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const Type = DTYPES[t.dtype];
    if (!Type) throw new Error(`${file}: tensor ${name} has dtype ${t.dtype}, not read here`);
    const [begin, end] = t.data_offsets;
    // A copy: the slice of a Node Buffer may not be aligned for the typed array.
    const raw = bytes.subarray(base + begin, base + end);
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    out[name] = { dtype: t.dtype, shape: t.shape, data: new Type(copy.buffer) };
  }
  return out;
}

// ---- byte-level BPE ---------------------------------------------------------------------------

export const BPE_SPECIAL = ['<unk>', '<s>', '</s>'];

// GPT-2's map from bytes to printable characters: the printable Latin-1 bytes stand for
// themselves, the others take the code points from 256 up, in byte order.
export function byteLevelAlphabet() {
  const printable = (b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const map = [];
  let next = 256;
  for (let b = 0; b < 256; b++) map.push(String.fromCodePoint(printable(b) ? b : next++));
  return map;
}

// GPT-2's pre-tokenizer regex (tokenizers' ByteLevel with use_regex).
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

// The corpus the merges are learnt from: the words the tests' prompts use.
const CORPUS = [
  'Bonjour, je voudrais savoir comment fonctionne le service public de la mairie.',
  'The quick brown fox jumps over the lazy dog. The weather is nice today.',
  'Please answer the question in one short sentence, in French or in English.',
  'Les administrations publiques servent les usagers avec des modèles de langage.',
  'You are a helpful assistant for the citizens of the republic. Answer briefly.',
  'system user assistant message content question answer document context prefix',
  'Retrieval augmented generation finds relevant passages, ranks them and cites sources.',
  'Sovereign cloud hosting keeps personal data under European law and public control.',
].join('\n');

// Learns merges on CORPUS: repeatedly merge the most frequent adjacent pair (ties: the pair
// first met in the corpus), as tokenizers' BpeTrainer does, until `count` merges.
function learnMerges(alphabet, count) {
  const words = [];
  for (const piece of CORPUS.match(GPT2_SPLIT)) {
    words.push([...Buffer.from(piece, 'utf8')].map((b) => alphabet[b]));
  }
  const merges = [];
  while (merges.length < count) {
    const counts = new Map();
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) {
        const key = `${w[i]} ${w[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    let best = null;
    let bestCount = 0;
    for (const [key, c] of counts) {
      if (c > bestCount) {
        best = key;
        bestCount = c;
      }
    }
    if (best === null) break;
    const [a, b] = best.split(' ');
    merges.push([a, b]);
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) {
        if (w[i] === a && w[i + 1] === b) w.splice(i, 2, a + b);
      }
    }
  }
  return merges;
}

// A simple chat template: each message as <|role|>, its content and </s>; then <|assistant|>.
export const CHAT_TEMPLATE =
  '{{ bos_token }}{% for message in messages %}<|{{ message.role }}|>\n' +
  '{{ message.content }}{{ eos_token }}\n{% endfor %}' +
  '{% if add_generation_prompt %}<|assistant|>\n{% endif %}';

// tokenizer.json and tokenizer_config.json (as objects) of a byte-level BPE with `vocabSize`
// tokens; the encoding of a single text starts with <s>.
export function byteLevelBpe(vocabSize) {
  const alphabet = byteLevelAlphabet();
  const vocab = {};
  BPE_SPECIAL.forEach((t, id) => { vocab[t] = id; });
  alphabet.forEach((ch, b) => { vocab[ch] = BPE_SPECIAL.length + b; });
  let id = BPE_SPECIAL.length + alphabet.length;
  const merges = learnMerges(alphabet, vocabSize - id);
  for (const [a, b] of merges) vocab[a + b] = id++;
  if (id !== vocabSize || Object.keys(vocab).length !== vocabSize) {
    throw new Error(`the corpus gave ${Object.keys(vocab).length} distinct tokens, not ${vocabSize}`);
  }
  const special = (content, tokenId) => ({
    id: tokenId, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: BPE_SPECIAL.map((t, i) => special(t, i)),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab, merges,
    },
  };
  const config = {
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    clean_up_tokenization_spaces: false,
    model_max_length: 1024,
    chat_template: CHAT_TEMPLATE,
  };
  return { tokenizer, config };
}

// ---- WordPiece --------------------------------------------------------------------------------

// The word of token `id` in wordPiece(): id 0 is [PAD], 1 [UNK], the others "t<id>".
export const wordOf = (id) => (id === 0 ? '[PAD]' : id === 1 ? '[UNK]' : `t${id}`);

// tokenizer.json and tokenizer_config.json of a WordPiece tokenizer of `vocabSize` words.
export function wordPiece(vocabSize) {
  const vocab = {};
  for (let id = 0; id < vocabSize; id++) vocab[wordOf(id)] = id;
  const special = (content, tokenId) => ({
    id: tokenId, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('[PAD]', 0), special('[UNK]', 1)],
    normalizer: {
      type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab,
    },
  };
  const config = { unk_token: '[UNK]', pad_token: '[PAD]', do_lower_case: true, model_max_length: 128 };
  return { tokenizer, config };
}

// wordPiece() with BERT's [CLS] (id 2) and [SEP] (id 3) around every text, as BertProcessing
// puts them: what llama.cpp's WordPiece tokenizer (and so a GGUF file) requires.
export const BERT_CLS = 2;
export const BERT_SEP = 3;
export function bertWordPiece(vocabSize) {
  const { tokenizer, config } = wordPiece(vocabSize);
  const vocab = {};
  for (const [word, id] of Object.entries(tokenizer.model.vocab)) {
    vocab[id === BERT_CLS ? '[CLS]' : id === BERT_SEP ? '[SEP]' : word] = id;
  }
  tokenizer.model.vocab = vocab;
  const special = (content, id) => ({ ...tokenizer.added_tokens[0], id, content });
  tokenizer.added_tokens.push(special('[CLS]', BERT_CLS), special('[SEP]', BERT_SEP));
  tokenizer.post_processor = { type: 'BertProcessing', sep: ['[SEP]', BERT_SEP], cls: ['[CLS]', BERT_CLS] };
  return { tokenizer, config: { ...config, cls_token: '[CLS]', sep_token: '[SEP]' } };
}

// ---- model folders ----------------------------------------------------------------------------

// A servable copy of golden model `name` in `dir`/`name`: symlinks to its config.json,
// model.safetensors (and generation_config.json when it has one), and the tokenizer files.
export async function modelFolder(dir, name, { tokenizer, config }) {
  const folder = path.join(dir, name);
  await mkdir(folder, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'generation_config.json']) {
    const from = path.join(GOLDEN, name, f);
    if (!existsSync(from)) continue;
    await symlink(from, path.join(folder, f));
  }
  await writeFile(path.join(folder, 'tokenizer.json'), JSON.stringify(tokenizer));
  await writeFile(path.join(folder, 'tokenizer_config.json'), JSON.stringify(config));
  return folder;
}
