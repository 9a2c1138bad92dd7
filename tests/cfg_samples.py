"""A tiny CSP network in Darknet syntax for the import tests: a stem conv, one full-CSP stage and one
fusion-first stage (CSPDarknet53's layer pattern, small widths), global pool, 1x1 classifier, softmax."""
from __future__ import annotations


def _stage(w: int, transition_after: bool = True, partial: bool = True) -> str:
    conv = "[convolutional]\nbatch_normalize=1\nfilters={f}\nsize={k}\nstride={s}\npad=1\nactivation=leaky\n\n"
    out = conv.format(f=2 * w, k=3, s=2)                      # down-sampling conv
    out += conv.format(f=w, k=1, s=1)                         # part 1
    out += "[route]\nlayers=-2\n\n"                           # split
    out += conv.format(f=w, k=1, s=1)                         # part 2
    out += conv.format(f=w, k=1, s=1) + conv.format(f=w, k=3, s=1) + "[shortcut]\nfrom=-3\nactivation=linear\n\n"
    if partial:
        out += conv.format(f=w, k=1, s=1)                     # partial transition
        out += "[route]\nlayers=-1,-7\n\n"                    # concat
    else:
        out += "[route]\nlayers=-1,-6\n\n"
    if transition_after:
        out += conv.format(f=2 * w, k=1, s=1)                 # transition
    return out


TINY_CFG = ("[net]\nwidth=64\nheight=64\nchannels=3\n\n"
            "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
            + _stage(8) + _stage(16, partial=False)
            + "[avgpool]\n\n[convolutional]\nfilters=10\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
              "[softmax]\ngroups=1\n").encode()
