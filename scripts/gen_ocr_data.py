#!/usr/bin/python3
"""Generates rendered OCR data sets for octet's calibration and accuracy checks.

Text is drawn from the characters of the PP-OCR dictionary (--dict, default: this repository's
models/ppocr/ppocr_keys_v1.txt): Chinese words, numbers (dates, prices, phone numbers,
percentages), latin words, and mixes of these, rendered with Debian's fonts (fonts-noto-cjk,
fonts-dejavu-core) through PIL. Everything is seeded: sample NNNN depends only on (--seed, --kind,
NNNN), so a smaller --count gives a prefix of a larger one.

Usage: gen_ocr_data.py --kind rec|cls|det|page --count N --seed S --out DIR [--format npy|png|both]
                       [--dict FILE] [--page-size HxW] [--upside-down FRACTION]
       (--format defaults to npy, --seed to 0, --page-size (det, page) to 640x640,
       --upside-down (page only) to 0)

Written to DIR:
  NNNN.npy    (npy, both)  the preprocessed model input, float32 NCHW, batch 1, BGR channel order
  NNNN.png    (png, both)  the raw rendered image (RGB), before any resizing or normalization
  labels.tsv  always; one line per sample, `NNNN.png<TAB>label` (a name matches its .npy too)

Kinds, preprocessing and labels (PaddleOCR conventions):
  rec  one text line. Resize to height 48 keeping the aspect ratio, width ceil(48 * w / h) capped
       at 320, pad the right with 0 (after normalization) to 48x320; pixels (x/255 - 0.5) / 0.5.
       Tensor 1x3x48x320. Label: the text (PaddleOCR rec_gt style). Lines may contain spaces: the
       recognizer's last class (6625 = blank + 6623 dictionary entries + space) is the space.
  cls  one text line, the same preprocessing at width 192: tensor 1x3x48x192. One line of each
       pair (0000, 0001), (0002, 0003), ... chosen at random is rotated by 180 degrees before
       preprocessing, so half of an even count is rotated. Label: "0" or "180".
  det  a 640x640 page (--page-size HxW: multiples of 32, at most 960): light, sometimes noisy
       background with 3 to 8 text lines of 20 to 44 pixel fonts at random places, some rotated by
       up to 12 degrees; on about a third of the pages also one tiny line (8 to 10 pixel font)
       labeled "###", PaddleOCR's don't-care mark for illegible text, which the metric neither
       requires nor holds against a detector (its box has a 4 pixel margin, as annotators draw). No resize (the sides are multiples of 32 and <= 960,
       so PaddleOCR's DetResizeForTest keeps them).
       Channel c of the BGR image is normalized as (x/255 - mean[c]) / std[c] with
       mean = (0.485, 0.456, 0.406), std = (0.229, 0.224, 0.225), index 0 applied to B, exactly as
       PaddleOCR's NormalizeImage does on an OpenCV (BGR) image. Tensor 1x3x640x640.
       Label: PaddleOCR det JSON, `[{"transcription": "...", "points": [[x, y] x 4]}, ...]`,
       points clockwise (on screen) from the text's top-left corner: the glyphs' bounding box
       (PIL's font.getbbox) rotated with the line, in pixels of the original image. Since
       the page is not resized, the same numbers index the .npy tensor: point (x, y) is element
       [0, :, y, x] (the model's probability map, 1x1x640x640, uses the same coordinates).
  page a clean page for the whole OCR pipeline (`octet ocr`, scripts/ocr_demo.sh): near-white
       paper without noise, 3 to 6 upright lines of 28 to 40 pixel fonts stacked top to bottom
       at the left margin, so that reading order is the label order. The texts are common words
       (Chinese words, latin words, numbers and their mixes) rather than random dictionary
       characters: what a user would photograph. --upside-down F turns each line by 180 degrees
       with probability F (the direction classifier's job); the texts and places do not depend on
       F. Preprocessing (.npy) and labels as det; the points start from the text's top-left
       corner, which is the bottom-right one on screen for an upside-down line.

Resizing (rec, cls) is bilinear with half-pixel centers and no antialiasing, the same as OpenCV's
INTER_LINEAR and ONNX Resize (linear, half_pixel): simple to reproduce exactly in C++.

Run with Debian's /usr/bin/python3 (python3-numpy, python3-pil).
"""
import argparse
import json
import math
import pathlib
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

KIND_IDS = {"rec": 1, "cls": 2, "det": 3, "page": 4}  # mixed into the seed so kinds differ for one --seed
PAIR_STREAM = 180  # a fourth seed word: the random stream shared by a pair of samples (cls rotation)

LINE_HEIGHT = 48
LINE_WIDTH = {"rec": 320, "cls": 192}
DET_PAGE_SIZE = 640
DET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
DET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
DET_LINES_PER_PAGE = (3, 8)  # inclusive range
DET_MAX_ANGLE_DEGREES = 12.0
DET_ROTATED_FRACTION = 0.4  # of the lines
DET_LINE_GAP = 6  # pixels kept free around each placed line, so boxes do not touch
DET_PLACEMENT_ATTEMPTS = 30  # random positions tried before a line is dropped
DET_FONT_SIZES = (20, 45)  # half-open range of the lines' font sizes in pixels
DET_DONT_CARE_FRACTION = 0.35  # of the pages, which get one tiny don't-care line
DET_DONT_CARE_FONT_SIZES = (8, 11)  # half-open: too small to read, labeled "###"
DET_DONT_CARE_MARK = "###"
DET_DONT_CARE_MARGIN = 4  # pixels around the glyphs: annotators box illegible text loosely
DET_SIDE_MULTIPLE = 32  # DB detectors need sides divisible by 32
DET_MAX_SIDE = 960  # PaddleOCR's det_limit_side_len: larger pages would be resized
PAGE_LINES_PER_PAGE = (3, 6)  # inclusive range
PAGE_FONT_SIZES = (28, 41)  # half-open range of the lines' font sizes in pixels
PAGE_MARGINS = (16, 49)  # half-open range of the left and top margins in pixels
PAGE_LINE_GAPS = (14, 37)  # half-open range of the free space between two lines in pixels

DEFAULT_DICTIONARY = pathlib.Path(__file__).resolve().parent.parent / "models/ppocr/ppocr_keys_v1.txt"
NOTO_DIR = "/usr/share/fonts/opentype/noto"
DEJAVU_DIR = "/usr/share/fonts/truetype/dejavu"
SIMPLIFIED_CHINESE_FACE = 2  # face index of "Noto Sans/Serif CJK SC" in the .ttc collections
CJK_FONTS = [  # (path, face index): cover Chinese and latin
    (f"{NOTO_DIR}/NotoSansCJK-Regular.ttc", SIMPLIFIED_CHINESE_FACE),
    (f"{NOTO_DIR}/NotoSansCJK-Bold.ttc", SIMPLIFIED_CHINESE_FACE),
    (f"{NOTO_DIR}/NotoSerifCJK-Regular.ttc", SIMPLIFIED_CHINESE_FACE),
]
LATIN_FONTS = [  # latin, digits and ASCII punctuation only
    (f"{DEJAVU_DIR}/DejaVuSans.ttf", 0),
    (f"{DEJAVU_DIR}/DejaVuSerif.ttf", 0),
    (f"{DEJAVU_DIR}/DejaVuSansMono.ttf", 0),
    (f"{DEJAVU_DIR}/DejaVuSans-Bold.ttf", 0),
]

LATIN_WORDS = (
    "total price date invoice order number name address phone email station street road "
    "open close hotel coffee market bank China Beijing Shanghai Shenzhen OCR ONNX model "
    "text line page INT8 CPU Paddle Hello World sale free menu tea water taxi exit"
).split()

CHINESE_WORDS = (  # common words for the clean pages (kind page)
    "发票 金额 合计 日期 地址 电话 号码 银行 北京 上海 深圳 广州 杭州 中国 欢迎 光临 出口 入口 超市 咖啡 "
    "酒店 价格 数量 名称 商品 服务 时间 营业 开放 免费 停车场 地铁站 火车站 人民 大学 医院 公司 有限 餐厅 "
    "菜单 早餐 午餐 晚餐 会议 通知 办公室 学校 图书馆 博物馆 公园 广场 东路 西路 南路 北路 中心 市场 药店 "
    "书店 工作 生活 文字 识别 模型 测试 页面 第一 第二 总计 单价 收银 找零 现金 微信 支付 会员 积分 再次 "
    "谢谢 惠顾 请勿 吸烟 注意 安全 小心 地滑 禁止 通行 前方 施工 左转 右转 直行 电梯 楼梯 洗手间 售票处 "
    "候车室 营业时间 联系 客服 热线 网址 邮箱 快递 包裹 收件人 寄件人 订单 编号 打印 复印 天气 晴朗 多云 "
    "小雨 温度 新年 快乐 生日 朋友 家庭 学习 努力 进步 未来 科技 数据 网络 手机 电脑 软件 系统 量化 推理 "
    "速度 精度 文本 检测 方向 分类"
).split()


class FontBook:
    """Loads fonts once per (file, face, size) and knows which characters every CJK font draws."""

    def __init__(self):
        self._fonts = {}
        self._cjk_drawable = {}  # character -> bool, filled as characters are first used
        self._missing_glyphs = [_glyph_signature(self.get(spec, 24), "\ue000") for spec in CJK_FONTS]

    def get(self, font_spec, size):
        key = (font_spec, size)
        if key not in self._fonts:
            path, face = font_spec
            self._fonts[key] = ImageFont.truetype(path, size, index=face)
        return self._fonts[key]

    def cjk_drawable(self, character):
        """Whether no CJK font draws the character as its missing-glyph box (U+E000, a private-use
        code point, shows what that box looks like)."""
        if character not in self._cjk_drawable:
            self._cjk_drawable[character] = all(
                _glyph_signature(self.get(spec, 24), character) != missing
                for spec, missing in zip(CJK_FONTS, self._missing_glyphs)
            )
        return self._cjk_drawable[character]


def _glyph_signature(font, character):
    mask = font.getmask(character)
    return mask.size, bytes(mask)


class TextSampler:
    """Random short texts made only of dictionary characters (plus space) that the fonts draw."""

    def __init__(self, dictionary, font_book):
        allowed = set(dictionary) | {" "}
        self.font_book = font_book
        self.chinese = sorted(c for c in allowed if "\u4e00" <= c <= "\u9fff")
        self.latin_words = [w for w in LATIN_WORDS if set(w) <= allowed]
        self.allowed = allowed
        if len(self.chinese) < 1000 or not self.latin_words or not set("0123456789.-:%") <= allowed:
            sys.exit("gen_ocr_data: error: the dictionary lacks the expected characters")

    def sample(self, rng):
        kind = rng.choice(["chinese", "chinese", "number", "latin", "mixed"])
        if kind == "chinese":
            text = self._chinese(rng, 2, 9)
        elif kind == "number":
            text = self._number(rng)
        elif kind == "latin":
            text = " ".join(self._latin_word(rng) for _ in range(rng.integers(1, 3)))
        else:
            parts = [self._chinese(rng, 1, 5), rng.choice([self._number(rng), self._latin_word(rng)])]
            rng.shuffle(parts)
            text = "".join(parts)
        assert set(text) <= self.allowed, text
        return text

    def _chinese(self, rng, min_length, max_length):
        characters = []
        for _ in range(rng.integers(min_length, max_length)):
            character = self.chinese[rng.integers(len(self.chinese))]
            while not self.font_book.cjk_drawable(character):
                character = self.chinese[rng.integers(len(self.chinese))]
            characters.append(character)
        return "".join(characters)

    def _latin_word(self, rng):
        word = self.latin_words[rng.integers(len(self.latin_words))]
        case = rng.integers(3)
        return word.upper() if case == 0 else word.lower() if case == 1 else word

    def _number(self, rng):
        form = rng.integers(5)
        if form == 0:
            return f"{rng.integers(1990, 2030)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
        if form == 1:
            return f"{rng.integers(0, 10000)}.{rng.integers(0, 100):02d}"
        if form == 2:
            return f"1{rng.integers(30, 90)}-{rng.integers(0, 10000):04d}-{rng.integers(0, 10000):04d}"
        if form == 3:
            return f"{rng.integers(0, 101)}%"
        return f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}"


class PageTextSampler:
    """Texts for the clean pages: common Chinese words, latin words, numbers and their mixes (all
    made of dictionary characters that the CJK fonts draw)."""

    def __init__(self, sampler):
        self.sampler = sampler  # for latin words and numbers
        self.chinese_words = [
            w for w in CHINESE_WORDS if set(w) <= sampler.allowed and all(map(sampler.font_book.cjk_drawable, w))
        ]
        if len(self.chinese_words) < 100:
            sys.exit("gen_ocr_data: error: the dictionary lacks the common Chinese words of the clean pages")

    def sample(self, rng):
        kind = rng.choice(["chinese", "mixed", "mixed", "latin", "number"])
        if kind == "chinese":
            return self._chinese(rng)
        if kind == "latin":
            return " ".join(self.sampler._latin_word(rng) for _ in range(rng.integers(2, 4)))
        if kind == "number":
            return self.sampler._number(rng)
        tail = self.sampler._number(rng) if rng.random() < 0.5 else self.sampler._latin_word(rng)
        return self._chinese(rng) + str(rng.choice(["", " "])) + tail

    def _chinese(self, rng):
        return "".join(self.chinese_words[rng.integers(len(self.chinese_words))] for _ in range(rng.integers(1, 4)))


def pick_font(rng, font_book, text, size):
    choices = LATIN_FONTS + CJK_FONTS if text.isascii() else CJK_FONTS
    return font_book.get(choices[rng.integers(len(choices))], size)


def light_background(rng, height, width):
    """Near-white paper, slightly tinted, with sensor-like noise half of the time."""
    base = np.clip(rng.integers(210, 256) + rng.integers(-12, 13, size=3), 0, 255)
    image = np.broadcast_to(base, (height, width, 3)).astype(np.float32)
    if rng.random() < 0.5:
        image = image + rng.normal(0.0, rng.uniform(2.0, 10.0), size=image.shape)
    return image.clip(0, 255).astype(np.uint8)


def dark_color(rng):
    return tuple(int(v) for v in rng.integers(0, 90, size=3))


def render_line(rng, font_book, text, max_aspect):
    """A tight RGB crop of one text line with a small random margin; shortens the text until the
    line's width / height is at most max_aspect. Returns (image, text)."""
    size = int(rng.integers(22, 41))
    font = pick_font(rng, font_book, text, size)
    margin_x, margin_y = int(rng.integers(2, 12)), int(rng.integers(2, 8))
    while True:
        left, top, right, bottom = font.getbbox(text)
        width, height = right - left + 2 * margin_x, bottom - top + 2 * margin_y
        if width <= max_aspect * height or len(text) == 1:
            break
        text = text[:-1].rstrip() or text[0]
    image = Image.fromarray(light_background(rng, height, width))
    ImageDraw.Draw(image).text((margin_x - left, margin_y - top), text, font=font, fill=dark_color(rng))
    return image, text


def resize_bilinear(image, out_height, out_width):
    """HWC uint8 -> HWC float32; bilinear, half-pixel centers, no antialiasing (cv2.INTER_LINEAR)."""

    def axis_weights(in_size, out_size):
        source = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
        source = source.clip(0, in_size - 1)
        low = np.floor(source).astype(np.int64)
        high = np.minimum(low + 1, in_size - 1)
        return low, high, (source - low).astype(np.float32)

    rows_low, rows_high, row_weight = axis_weights(image.shape[0], out_height)
    cols_low, cols_high, col_weight = axis_weights(image.shape[1], out_width)
    pixels = image.astype(np.float32)
    rows = pixels[rows_low] * (1 - row_weight)[:, None, None] + pixels[rows_high] * row_weight[:, None, None]
    return rows[:, cols_low] * (1 - col_weight)[None, :, None] + rows[:, cols_high] * col_weight[None, :, None]


def preprocess_line(image, target_width):
    """RGB PIL line image -> 1x3x48xtarget_width float32 (PaddleOCR rec/cls preprocessing)."""
    rgb = np.asarray(image)
    height, width = rgb.shape[:2]
    resized_width = min(target_width, math.ceil(LINE_HEIGHT * width / height))
    resized = resize_bilinear(rgb, LINE_HEIGHT, resized_width)
    normalized = (resized / 255.0 - 0.5) / 0.5
    tensor = np.zeros((1, 3, LINE_HEIGHT, target_width), dtype=np.float32)
    tensor[0, :, :, :resized_width] = normalized[:, :, ::-1].transpose(2, 0, 1)  # RGB -> BGR, HWC -> CHW
    return tensor


def preprocess_page(image):
    """RGB PIL page -> 1x3xHxW float32 (PaddleOCR det preprocessing, no resize needed)."""
    bgr = np.asarray(image, dtype=np.float32)[:, :, ::-1] / 255.0
    normalized = (bgr - DET_MEAN) / DET_STD
    return np.ascontiguousarray(normalized.transpose(2, 0, 1)[None], dtype=np.float32)


def make_rec(rng, font_book, sampler, index, pair_rng):
    image, text = render_line(rng, font_book, sampler.sample(rng), LINE_WIDTH["rec"] / LINE_HEIGHT)
    return image, preprocess_line(image, LINE_WIDTH["rec"]), text


def make_cls(rng, font_book, sampler, index, pair_rng):
    image, _ = render_line(rng, font_book, sampler.sample(rng), LINE_WIDTH["cls"] / LINE_HEIGHT)
    rotated = index % 2 == pair_rng.integers(2)
    if rotated:
        image = image.transpose(Image.Transpose.ROTATE_180)
    return image, preprocess_line(image, LINE_WIDTH["cls"]), "180" if rotated else "0"


def rotate_points(points, angle_degrees, old_size, new_size):
    """Where points of an image land after PIL's Image.rotate(angle, expand=True) (counter-clockwise
    about the center; y grows downwards)."""
    angle = math.radians(angle_degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    old_cx, old_cy = old_size[0] / 2, old_size[1] / 2
    new_cx, new_cy = new_size[0] / 2, new_size[1] / 2
    return [
        (new_cx + (x - old_cx) * cos + (y - old_cy) * sin, new_cy - (x - old_cx) * sin + (y - old_cy) * cos)
        for x, y in points
    ]


def render_det_line(rng, font_book, text, font_size, margin=0):
    """One line on a transparent layer, rotated for some lines. Returns (layer, quad): the quad is
    the glyphs' box grown by `margin` pixels (at most 4) on the rotated layer, clockwise on screen
    from the text's top-left corner."""
    font = pick_font(rng, font_book, text, font_size)
    left, top, right, bottom = font.getbbox(text)
    pad = 4  # transparent border so that rotation does not clip the glyphs
    layer = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((pad - left, pad - top), text, font=font, fill=dark_color(rng) + (255,))
    inset = pad - margin
    box = [(inset, inset), (layer.width - inset, inset), (layer.width - inset, layer.height - inset), (inset, layer.height - inset)]
    rotate = rng.random() < DET_ROTATED_FRACTION
    angle = float(rng.uniform(-DET_MAX_ANGLE_DEGREES, DET_MAX_ANGLE_DEGREES)) if rotate else 0.0
    rotated = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    return rotated, rotate_points(box, angle, layer.size, rotated.size)


def place_on_page(rng, page, layer, occupied):
    """A free position (x, y) for the layer, kept DET_LINE_GAP away from the occupied boxes (which it
    joins), or None when none of DET_PLACEMENT_ATTEMPTS random positions is free."""
    if layer.width >= page.width or layer.height >= page.height:
        return None
    for _attempt in range(DET_PLACEMENT_ATTEMPTS):
        x = int(rng.integers(0, page.width - layer.width))
        y = int(rng.integers(0, page.height - layer.height))
        gap = DET_LINE_GAP
        box = (x - gap, y - gap, x + layer.width + gap, y + layer.height + gap)
        if all(box[2] <= o[0] or o[2] <= box[0] or box[3] <= o[1] or o[3] <= box[1] for o in occupied):
            occupied.append(box)
            return x, y
    return None


def make_det(rng, font_book, sampler, index, pair_rng, page_size):
    height, width = page_size
    page = Image.fromarray(light_background(rng, height, width))
    occupied = []  # axis-aligned boxes (x0, y0, x1, y1) of placed lines, with a gap around them
    labels = []

    def draw(text, font_size, transcription, margin=0):
        layer, quad = render_det_line(rng, font_book, text, font_size, margin)
        position = place_on_page(rng, page, layer, occupied)
        if position is None:
            return  # no free place for this line
        x, y = position
        page.paste(layer, (x, y), layer)
        points = [[int(round(px + x)), int(round(py + y))] for px, py in quad]
        labels.append({"transcription": transcription, "points": points})

    for _ in range(rng.integers(DET_LINES_PER_PAGE[0], DET_LINES_PER_PAGE[1] + 1)):
        text = sampler.sample(rng)
        draw(text, int(rng.integers(*DET_FONT_SIZES)), text)
    # Drawn after the lines, so that a page's readable lines do not depend on it.
    if rng.random() < DET_DONT_CARE_FRACTION:
        draw(sampler.sample(rng), int(rng.integers(*DET_DONT_CARE_FONT_SIZES)), DET_DONT_CARE_MARK, DET_DONT_CARE_MARGIN)
    return page, preprocess_page(page), json.dumps(labels, ensure_ascii=False)


def make_page(rng, font_book, page_sampler, page_size, upside_down_fraction):
    height, width = page_size
    base = int(rng.integers(235, 256))
    tint = np.clip(base + rng.integers(-6, 7, size=3), 0, 255).astype(np.uint8)
    page = Image.fromarray(np.broadcast_to(tint, (height, width, 3)).copy())
    draw = ImageDraw.Draw(page)
    left = int(rng.integers(*PAGE_MARGINS))
    y = int(rng.integers(*PAGE_MARGINS))
    labels = []
    for _ in range(rng.integers(PAGE_LINES_PER_PAGE[0], PAGE_LINES_PER_PAGE[1] + 1)):
        text = page_sampler.sample(rng)
        font = pick_font(rng, font_book, text, int(rng.integers(*PAGE_FONT_SIZES)))
        color = dark_color(rng)
        gap = int(rng.integers(*PAGE_LINE_GAPS))
        upside_down = rng.random() < upside_down_fraction  # drawn for every line: F changes no text
        while True:  # shorten the text to the page's width (a right margin as wide as the left one)
            x0, y0, x1, y1 = font.getbbox(text)
            if left + (x1 - x0) <= width - left or len(text) == 1:
                break
            text = text[:-1].rstrip() or text[0]
        line_height = y1 - y0
        if y + line_height > height - PAGE_MARGINS[0]:
            break  # the page is full
        layer = Image.new("RGBA", (x1 - x0, line_height), (0, 0, 0, 0))
        ImageDraw.Draw(layer).text((-x0, -y0), text, font=font, fill=color + (255,))
        box = [[left, y], [left + layer.width, y], [left + layer.width, y + line_height], [left, y + line_height]]
        if upside_down:
            layer = layer.transpose(Image.Transpose.ROTATE_180)
            box = box[2:] + box[:2]  # the text's top-left corner is now the bottom-right one
        page.paste(layer, (left, y), layer)
        labels.append({"transcription": text, "points": box})
        y += line_height + gap
    del draw
    return page, preprocess_page(page), json.dumps(labels, ensure_ascii=False)


def parse_page_size(text):
    try:
        height, width = (int(v) for v in text.split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not HxW (e.g. 640x640)")
    if not all(0 < v <= DET_MAX_SIDE and v % DET_SIDE_MULTIPLE == 0 for v in (height, width)):
        raise argparse.ArgumentTypeError(
            f"'{text}': both sides must be multiples of {DET_SIDE_MULTIPLE} and at most {DET_MAX_SIDE}"
        )
    return height, width


def main():
    parser = argparse.ArgumentParser(description="Generate seeded OCR data sets (see the file header).")
    parser.add_argument("--kind", required=True, choices=sorted(KIND_IDS))
    parser.add_argument("--count", required=True, type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--format", choices=["npy", "png", "both"], default="npy")
    parser.add_argument("--dict", type=pathlib.Path, default=DEFAULT_DICTIONARY)
    parser.add_argument("--page-size", type=parse_page_size, default=(DET_PAGE_SIZE, DET_PAGE_SIZE),
                        help="det pages: HxW, multiples of 32, at most 960 (default 640x640)")
    parser.add_argument("--upside-down", type=float, default=0.0, metavar="FRACTION",
                        help="page: the probability that a line is turned by 180 degrees (default 0)")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    if not 0 <= args.upside_down <= 1 or (args.upside_down and args.kind != "page"):
        parser.error("--upside-down takes a fraction between 0 and 1, for --kind page only")
    if not args.dict.is_file():
        sys.exit(f"gen_ocr_data: error: no dictionary at {args.dict} (run scripts/fetch_models.sh)")

    dictionary = args.dict.read_text(encoding="utf-8").splitlines()
    font_book = FontBook()
    sampler = TextSampler(dictionary, font_book)
    page_sampler = PageTextSampler(sampler) if args.kind == "page" else None
    args.out.mkdir(parents=True, exist_ok=True)
    digits = max(4, len(str(args.count - 1)))

    make = {"rec": make_rec, "cls": make_cls}.get(args.kind)
    label_lines = []
    for index in range(args.count):
        rng = np.random.default_rng([args.seed, KIND_IDS[args.kind], index])
        pair_rng = np.random.default_rng([args.seed, KIND_IDS[args.kind], index // 2, PAIR_STREAM])
        if args.kind == "det":
            image, tensor, label = make_det(rng, font_book, sampler, index, pair_rng, args.page_size)
        elif args.kind == "page":
            image, tensor, label = make_page(rng, font_book, page_sampler, args.page_size, args.upside_down)
        else:
            image, tensor, label = make(rng, font_book, sampler, index, pair_rng)
        name = f"{index:0{digits}d}"
        if args.format in ("npy", "both"):
            np.save(args.out / f"{name}.npy", tensor)
        if args.format in ("png", "both"):
            image.save(args.out / f"{name}.png")
        label_lines.append(f"{name}.png\t{label}\n")
    (args.out / "labels.tsv").write_text("".join(label_lines), encoding="utf-8")
    print(f"gen_ocr_data: wrote {args.count} {args.kind} samples to {args.out}")


if __name__ == "__main__":
    main()
