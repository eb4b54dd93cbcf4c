#!/bin/sh
# The state of a git repository at a glance: branch, upstream, last commits, changes.
# Usage: summary.sh [REPO]   (default: the current directory)
set -eu
repo="${1:-.}"
git -C "$repo" rev-parse --is-inside-work-tree >/dev/null
echo "branch:   $(git -C "$repo" branch --show-current)"
if upstream=$(git -C "$repo" rev-parse --abbrev-ref --symbolic-full-name '@{u}' 2>/dev/null); then
  counts=$(git -C "$repo" rev-list --left-right --count "HEAD...$upstream")
  echo "upstream: $upstream (ahead $(echo "$counts" | cut -f1), behind $(echo "$counts" | cut -f2))"
else
  echo "upstream: none"
fi
echo
echo "last commits:"
git -C "$repo" log --oneline --decorate -n 5
echo
echo "changes:"
git -C "$repo" status --short
