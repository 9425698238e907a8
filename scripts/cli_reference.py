"""Write docs/cli.md, the CLI reference, from the commands' definitions (tokenfab.cli.reference).

python scripts/cli_reference.py           # write docs/cli.md
python scripts/cli_reference.py --check   # exit 1 when docs/cli.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from tokenfab.cli.reference import markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

if __name__ == "__main__":
    text = markdown()
    if "--check" in sys.argv[1:]:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python scripts/cli_reference.py", file=sys.stderr)
            sys.exit(1)
        print(f"{DOC} is current")
    else:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
