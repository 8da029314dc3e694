"""Draws a terminal capture (`tmux capture-pane -e -p`: text with SGR colour codes) as a PNG,
so the README's picture of the watch view is the real screen, not a mock-up.

    ansi_png.py CAPTURE.txt OUT.png

Needs Pillow (Debian: python3-pil) and DejaVu Sans Mono (fonts-dejavu-core).
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
BACKGROUND, FOREGROUND = (30, 30, 36), (220, 220, 220)
COLOURS = {
    31: (230, 90, 90), 32: (120, 210, 120), 33: (230, 200, 90), 34: (110, 150, 240),
    35: (210, 120, 210), 36: (100, 200, 210), 37: (220, 220, 220),
}
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def runs(line, style):
    """(text, colour, bold, dim) pieces of one line; tmux sends a style only when it changes,
    so it carries over from line to line in `style`."""
    colour, bold, dim = style
    at = 0
    for match in SGR.finditer(line):
        yield line[at:match.start()], colour, bold, dim
        at = match.end()
        codes = [int(c) for c in match.group(1).split(";") if c] or [0]
        while codes:
            code = codes.pop(0)
            if code == 38 and codes[:1] == [5]:  # 256 colours: the first 8 are the named ones
                code = 30 + codes[1] if len(codes) > 1 and codes[1] < 8 else 39
                codes = codes[2:]
            if code == 0:
                colour, bold, dim = FOREGROUND, False, False
            elif code == 1:
                bold = True
            elif code == 2:
                dim = True
            elif code == 22:
                bold = dim = False
            elif code == 39:
                colour = FOREGROUND
            elif code in COLOURS:
                colour = COLOURS[code]
    style[:] = [colour, bold, dim]
    yield line[at:], colour, bold, dim


def main(capture, out):
    lines = open(capture, encoding="utf-8").read().splitlines()
    regular, heavy = ImageFont.truetype(FONT, 15), ImageFont.truetype(BOLD, 15)
    cell_w, cell_h = regular.getlength("M"), 19
    width = int(cell_w * max(80, max(len(SGR.sub("", l)) for l in lines)) + 24)
    image = Image.new("RGB", (width, cell_h * len(lines) + 24), BACKGROUND)
    draw = ImageDraw.Draw(image)
    style = [FOREGROUND, False, False]
    for row, line in enumerate(lines):
        x = 12
        for text, colour, bold, dim in runs(line, style):
            if dim:
                colour = tuple(c * 3 // 5 for c in colour)
            draw.text((x, 12 + row * cell_h), text, fill=colour, font=heavy if bold else regular)
            x += cell_w * len(text)
    image.save(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
