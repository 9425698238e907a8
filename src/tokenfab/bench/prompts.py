"""Synthetic prompts of a target token length.

Two sources:

* :class:`WordListPrompts` (default, no dependency): the prompt is ``n`` words drawn at random from
  :data:`ONE_TOKEN_WORDS` joined by single spaces. Each word was chosen because it is exactly one token both
  with and without a leading space in four widely used byte-level BPE vocabularies: OpenAI ``cl100k_base``
  (GPT-4), ``o200k_base`` (GPT-4o, gpt-oss), Llama 3 (128k) and Qwen 2.5/3. Their pre-tokenisers split on
  ``" ?word"``, so words never merge across a space and ``n`` words are ``n`` tokens. Measured with the
  exact encoders of the ``quicktok-v1`` wheel (which bundles those four vocabularies): 10 random prompts each
  of 1, 7, 128, 1,024 and 8,192 words encode to exactly that many tokens in all four (0 error). Not verified
  for SentencePiece vocabularies (Llama 2, Mistral v0.1, Gemma): there a word may be more than one token, so
  pass a ``tokenizer.json``. A chat endpoint adds the chat template's tokens and a completions endpoint may
  add a BOS token: the server's ``usage.prompt_tokens`` (recorded per request) is the authoritative count.
* :class:`TokenizerPrompts`: exact for a given local ``tokenizer.json`` (optional extra ``tokenizers``):
  words are drawn the same way, encoded, cut to ``n`` ids and decoded, and the result is re-encoded to check.

Prompts are reproducible: request ``i`` of a run with seed ``s`` always gets the same text.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tokenfab.core.errors import TokenfabError

# 512 words, each one token (with and without a leading space) in cl100k_base, o200k_base, Llama 3 and Qwen 3.
# A word block read with str.split() (SIM905 would turn it into a 512-line list literal).
ONE_TOKEN_WORDS: tuple[str, ...] = tuple(
    """
this that with from have will your more they data name their time which value about string over type part work
when other been were file would year some there said like also than just result them into what list case first
only back need start user under then people should test make after right long array read form want number
require size where while look could know hand most break every point error text show find current used play
help these pass down even item through last event again high line does before because state here final very
model call well object years default view many being good using request child person style method expect found
post such think much count check open next follow game path each support sign those system best same create
made mark group world process main color report take free action index real build message input between table
head must order contin product double place oper week prop program response code without still field team
second going range fact home left direct allow page around really image target both level document local
content quest develop poss great month super title context life catch change position book version three base
during against power width label project element success date match node another care effect service since
full turn body stand block keep throw things control come custom source output disc business required might
never hard intern called options height small access address little port status update link given better feel
already always parent less account valid sure search invest rest interest perform site values video cell
player cost total load clear short override company done health children days initial online instance reason
within design school consider include stop later client love able give copy either lead family option exist
offer water step display times four present room once results continue talk grow mass mean until market area
length kind light side example camp miss based plan away button render near country author specific along
express begin software thing single rights women season possible sent command recent money auto working query
window least column record making close percent past write move special city tell select font course late
amount looking hold property price today attack means story meet sort thought task review switch above
question word provide research publish cover whether having large created host role deal problem press though
points ever services actually million server files often info space password store format details face save
items social major expected food members send diff makes global contact except news device previous material
below media fail black added came delete card root handle getting claim enter location night doing pick watch
human girl strong house track pack section wait terms apply session others fund template subject history users
future started mode games products needs known seen border live variable provided filename hope young website
study network limit went fire official visit received token months learn mind quick comment admin series
original bill frame draw comes elect filter larg remove
""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Prompt:
    text: str
    tokens: int  # the token count the source vouches for
    token_source: str  # "word_list" (approximation, see module doc) or "tokenizer" (exact)


def parse_length_dist(spec: str) -> float:
    """``fixed`` -> 1.0; ``uniform:R`` -> R, the low end as a fraction of the target (InferenceX uses 0.8)."""
    s = (spec or "fixed").strip().lower()
    if s == "fixed":
        return 1.0
    if s.startswith("uniform:"):
        try:
            r = float(s.split(":", 1)[1])
        except ValueError:
            r = float("nan")
        if 0 < r <= 1:
            return r
    raise TokenfabError(
        "unknown length distribution", field="--length-dist", expected="fixed or uniform:R with 0 < R <= 1", got=spec
    )


def draw_length(target: int, low_fraction: float, rng: random.Random) -> int:
    """A length drawn uniformly from the integers in [ceil(low_fraction * target), target].

    Fixed at ``target`` when the fraction is 1.
    """
    lo = max(1, math.ceil(low_fraction * target))
    return target if lo >= target else rng.randint(lo, target)


def _words(n: int, rng: random.Random) -> list[str]:
    return rng.choices(ONE_TOKEN_WORDS, k=n)  # ~0.1 us a word: an 8k-token prompt in well under a millisecond


class PromptSource(Protocol):
    """What a workload needs of a prompt source: a prompt of ``n_tokens`` tokens. A source may also have
    ``count(text) -> int | None`` and ``token_source`` (the workloads look them up with ``getattr``)."""

    def make(self, n_tokens: int, rng: random.Random) -> Prompt: ...


class WordListPrompts:
    """n words from :data:`ONE_TOKEN_WORDS`; exact for the BPE vocabularies listed in the module docstring."""

    token_source = "word_list"

    def make(self, n_tokens: int, rng: random.Random) -> Prompt:
        return Prompt(" ".join(_words(n_tokens, rng)), n_tokens, self.token_source)

    def count(self, text: str) -> int | None:
        return None  # no tokenizer: output is counted from the stream instead


class TokenizerPrompts:
    """Exact prompts and counts with a local ``tokenizer.json`` (needs the optional ``tokenizers`` package)."""

    token_source = "tokenizer"

    def __init__(self, tokenizer_json: str | Path):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise TokenfabError(
                "needs the optional 'tokenizers' package",
                field="--tokenizer",
                hint="pip install 'tokenfab[tokenizer]', or leave --tokenizer out for the word-list approximation",
            ) from None
        p = Path(tokenizer_json)
        if not p.is_file():
            raise TokenfabError("file not found", field="--tokenizer", expected="a local tokenizer.json", got=str(p))
        try:
            self._tok = Tokenizer.from_file(str(p))
        except Exception as e:  # tokenizers raises its own Exception type
            raise TokenfabError(f"cannot load tokenizer: {e}", field="--tokenizer", got=str(p)) from None

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def make(self, n_tokens: int, rng: random.Random) -> Prompt:
        words = _words(n_tokens + 8, rng)
        ids = self._tok.encode(" ".join(words), add_special_tokens=False).ids
        while len(ids) < n_tokens:  # vocabularies where words split into several tokens only make this shorter
            words += _words(n_tokens, rng)
            ids = self._tok.encode(" ".join(words), add_special_tokens=False).ids
        text = self._tok.decode(ids[:n_tokens])
        # decoding then re-encoding can move a boundary: cut or pad until the count is exact (a step or two)
        for _ in range(16):
            ids = self._tok.encode(text, add_special_tokens=False).ids
            if len(ids) == n_tokens:
                break
            text = self._tok.decode(ids[:n_tokens]) if len(ids) > n_tokens else text + " " + rng.choice(ONE_TOKEN_WORDS)
        return Prompt(text, self.count(text), self.token_source)


def prompt_source(tokenizer_json: str | Path | None = None) -> TokenizerPrompts | WordListPrompts:
    """The word-list source, or the exact tokenizer source when a ``tokenizer.json`` path is given."""
    return TokenizerPrompts(tokenizer_json) if tokenizer_json else WordListPrompts()
