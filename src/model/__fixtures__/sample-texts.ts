/** Texts shared by the tokenizer tests and the llama.cpp parity tests. */

/** A small varied corpus: prose, numbers, accents, emoji, code and whitespace runs. */
export const TRAINING_TEXT = [
  "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away!",
  "Numbers: 1234567890, 3.14159, 2024-06-01, 100% of 42.",
  "Accents: café, naïve, façade, jalapeño, Ångström, Zürich, São Paulo, Kraków.",
  "Emoji: 🙂 🚀 👍🏽 ❤️ — and CJK: 你好，世界。日本語のテキスト。",
  "def train(model, data):\n    for batch in data:\n        loss = model(batch)\n\treturn loss\n",
  "Whitespace   runs\t\ttabs\n\n\nnewlines    and trailing spaces   ",
  "It's what they'd say: we'll see, you've done it, I'm here, they're gone.",
].join("\n");

export const VARIED_TEXT =
  "Hello world! It's 2024: café naïve façade — 🙂🚀👍🏽 ❤️ 你好。\n\n  Tabs\tand   spaces   \n" +
  "<|im_start|>user\nNumbers 1234567 and 3.14<|im_end|>\n<|endoftext|>x";

