#!/usr/bin/env python3
"""Generates the torchvision model zoo as fusesim YAML models (format: models/README.md).

Usage: scripts/gen_zoo.py [--out DIR] [--check]
  --out DIR   where to write the YAML files (default: models/ next to this script's repo root)
  --check     write nothing; exit 1 if a generated file differs from the one on disk

Writes vgg16, resnet18, resnet50, mobilenet_v2, squeezenet1_0 and googlenet (without the aux
heads), each following torchvision's architecture definition for a 3x224x224 input, batch 1.
alexnet.yaml and lenet5.yaml are hand-written and not touched.

The script also keeps its own shape/MAC/parameter count of every network (independent of the
fusesim frontend) and refuses to write a file whose totals differ from the published figures.
MACs are the multiply-accumulates of conv and fully connected layers; parameters are every weight
and bias, BatchNorm's gamma and beta included (running statistics are buffers, not parameters).
Layer names are torchvision's module paths (e.g. layer1.0.conv1, features.3.expand3x3); modules
that torchvision calls functionally or reuses (relu, add, cat, flatten) get descriptive names
under the owning module. Stdlib only.
"""
import argparse
import os
import sys

# Published totals for a 3x224x224 input. Sources: torchvision's model docs (num_params, and the
# GFLOPS column, which counts multiply-accumulates) and torchinfo/fvcore counts of the same
# torchvision models. None means "no exact published figure": the count derived here is reported.
PUBLISHED = {
    "vgg16": (15470264320, 138357544),
    "resnet18": (1814073344, 11689512),
    "resnet50": (4089184256, 25557032),
    "mobilenet_v2": (300774272, 3504872),
    "squeezenet1_0": (None, 1248424),  # torchvision docs: 0.82 GFLOPS
    "googlenet": (None, 6624904),      # torchvision docs: 1.5 GFLOPS
}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _pool_out(n, k, s, p, ceil):
    # PyTorch's rule: with ceil_mode the last window must start inside the (left-padded) input.
    num = n + 2 * p - k
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


class Net:
    """A YAML writer that also tracks shapes, MACs and parameters of the layers it emits."""

    def __init__(self, name, in_shape):
        self.name = name
        self.shapes = {"input": tuple(in_shape)}
        self.prev = "input"
        self.lines = []
        self.macs = 0
        self.params = 0

    # --- emission -------------------------------------------------------------------------
    def _emit(self, name, op, inputs, keys, out_shape, comment=None):
        assert name not in self.shapes, "duplicate layer " + name
        fields = ["name: " + name, "op: " + op]
        for k, v in keys:
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, (list, tuple)):
                v = "[" + ", ".join(str(x) for x in v) + "]"
            fields.append("%s: %s" % (k, v))
        if inputs is not None:
            fields.append("inputs: [" + ", ".join(inputs) + "]")
        line = "  - {" + ", ".join(fields) + "}"
        c, h, w = out_shape
        note = "%dx%dx%d" % (c, h, w) if comment is None else comment
        self.lines.append("%-100s # %s" % (line, note) if note else line)
        self.shapes[name] = out_shape
        self.prev = name
        return name

    def comment(self, text):
        self.lines.append("  # " + text)

    def _src(self, src):
        return self.prev if src is None else src

    @staticmethod
    def _inputs(src):
        return None if src is None else [src]

    # --- ops ------------------------------------------------------------------------------
    def conv(self, name, out, kernel, stride=1, pad=0, groups=1, bias=True, act=None, src=None):
        cin, h, w = self.shapes[self._src(src)]
        kh, kw = _pair(kernel)
        sh, sw = _pair(stride)
        ph, pw = _pair(pad)
        assert cin % groups == 0 and out % groups == 0
        oh = (h + 2 * ph - kh) // sh + 1
        ow = (w + 2 * pw - kw) // sw + 1
        per_out = (cin // groups) * kh * kw
        self.macs += out * oh * ow * per_out
        self.params += out * per_out + (out if bias else 0)
        keys = [("out_channels", out), ("kernel", kernel)]
        if stride != 1:
            keys.append(("stride", stride))
        if pad != 0:
            keys.append(("pad", pad))
        if groups != 1:
            keys.append(("groups", groups))
        if not bias:
            keys.append(("bias", False))
        if act:
            keys.append(("act", act))
        return self._emit(name, "conv", self._inputs(src), keys, (out, oh, ow))

    def fc(self, name, out, act=None, src=None):
        c, h, w = self.shapes[self._src(src)]
        n = c * h * w
        self.macs += n * out
        self.params += n * out + out
        keys = [("out", out)] + ([("act", act)] if act else [])
        return self._emit(name, "fc", self._inputs(src), keys, (out, 1, 1))

    def batchnorm(self, name, eps=None, src=None):
        shape = self.shapes[self._src(src)]
        self.params += 2 * shape[0]  # gamma and beta
        keys = [("eps", eps)] if eps is not None else []
        return self._emit(name, "batchnorm", self._inputs(src), keys, shape)

    def act(self, name, op, src=None):
        return self._emit(name, op, self._inputs(src), [], self.shapes[self._src(src)])

    def maxpool(self, name, kernel, stride=None, pad=0, ceil_mode=False, src=None):
        c, h, w = self.shapes[self._src(src)]
        s = kernel if stride is None else stride
        oh = _pool_out(h, kernel, s, pad, ceil_mode)
        ow = _pool_out(w, kernel, s, pad, ceil_mode)
        keys = [("kernel", kernel)]
        if stride is not None:
            keys.append(("stride", stride))
        if pad:
            keys.append(("pad", pad))
        if ceil_mode:
            keys.append(("ceil_mode", True))
        return self._emit(name, "maxpool", self._inputs(src), keys, (c, oh, ow))

    def global_avgpool(self, name, src=None):
        c = self.shapes[self._src(src)][0]
        return self._emit(name, "global_avgpool", self._inputs(src), [], (c, 1, 1))

    def flatten(self, name, src=None):
        c, h, w = self.shapes[self._src(src)]
        return self._emit(name, "flatten", self._inputs(src), [], (c * h * w, 1, 1))

    def identity(self, name, comment=None, src=None):
        shape = self.shapes[self._src(src)]
        return self._emit(name, "identity", self._inputs(src), [], shape, comment)

    def dropout(self, name, p, src=None):
        return self._emit(name, "dropout", self._inputs(src), [("p", p)], self.shapes[self._src(src)])

    def add(self, name, a, b, act=None):
        assert self.shapes[a] == self.shapes[b], (name, self.shapes[a], self.shapes[b])
        keys = [("act", act)] if act else []
        return self._emit(name, "add", [a, b], keys, self.shapes[a])

    def concat(self, name, srcs):
        shapes = [self.shapes[s] for s in srcs]
        assert all(s[1:] == shapes[0][1:] for s in shapes), (name, shapes)
        return self._emit(name, "concat", list(srcs), [], (sum(s[0] for s in shapes),) + shapes[0][1:])

    # --- output ---------------------------------------------------------------------------
    def text(self, header):
        c, h, w = self.shapes["input"]
        out = ["# " + l if l else "#" for l in header]
        out += ["name: " + self.name, "input: {shape: [%d, %d, %d]}" % (c, h, w), "layers:"]
        return "\n".join(out + self.lines) + "\n"


# === VGG-16 (torchvision models/vgg.py, cfg "D", no batch norm) ===============================
def vgg16():
    n = Net("vgg16", (3, 224, 224))
    cfg = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]
    idx = 0  # index into torchvision's `features` Sequential
    for stage, chans in enumerate(cfg, 1):
        for j, c in enumerate(chans, 1):
            n.conv("conv%d_%d" % (stage, j), c, 3, pad=1, act="relu")
            n.lines[-1] += " (features.%d, ReLU features.%d)" % (idx, idx + 1)
            idx += 2
        n.maxpool("pool%d" % stage, 2, 2)
        n.lines[-1] += " (features.%d)" % idx
        idx += 1
    n.identity("avgpool", "AdaptiveAvgPool2d((7, 7)) on a 7x7 map")
    n.flatten("flatten")
    n.fc("fc6", 4096, act="relu")
    n.lines[-1] += " (classifier.0, ReLU classifier.1)"
    n.dropout("drop6", 0.5)
    n.lines[-1] += " (classifier.2)"
    n.fc("fc7", 4096, act="relu")
    n.lines[-1] += " (classifier.3, ReLU classifier.4)"
    n.dropout("drop7", 0.5)
    n.lines[-1] += " (classifier.5)"
    n.fc("fc8", 1000)
    n.lines[-1] += " (classifier.6)"
    return n, "torchvision models/vgg.py: vgg16 (configuration D, no batch norm)", [
        "Layers are named conv1_1 .. conv5_3 / fc6 .. fc8 as in the VGG paper; the comments give",
        "torchvision's module indices. The ReLUs are merged into their conv/fc via `act`.",
    ]


# === ResNet-18 / ResNet-50 (torchvision models/resnet.py) ======================================
def _cbr(n, prefix, idx, out, kernel, stride=1, pad=0, relu=True, src=None):
    """conv{idx} (no bias) + bn{idx} [+ relu{idx}] inside a residual block."""
    n.conv("%s.conv%s" % (prefix, idx), out, kernel, stride=stride, pad=pad, bias=False, src=src)
    n.batchnorm("%s.bn%s" % (prefix, idx))
    if relu:
        n.act("%s.relu%s" % (prefix, idx), "relu")
    return n.prev


def _downsample(n, prefix, out, stride, src):
    n.conv(prefix + ".downsample.0", out, 1, stride=stride, bias=False, src=src)
    return n.batchnorm(prefix + ".downsample.1")


def _resnet(name, block, layers):
    n = Net(name, (3, 224, 224))
    n.conv("conv1", 64, 7, stride=2, pad=3, bias=False)
    n.batchnorm("bn1")
    n.act("relu", "relu")
    n.maxpool("maxpool", 3, 2, pad=1)
    inplanes = 64
    expansion = 1 if block == "basic" else 4
    for li, (planes, count) in enumerate(zip([64, 128, 256, 512], layers), 1):
        for bi in range(count):
            stride = 2 if (li > 1 and bi == 0) else 1
            prefix = "layer%d.%d" % (li, bi)
            x = n.prev
            n.comment("%s: %s, %d -> %d, stride %d" % (
                prefix, "BasicBlock" if block == "basic" else "Bottleneck", inplanes, planes * expansion, stride))
            if block == "basic":
                _cbr(n, prefix, 1, planes, 3, stride=stride, pad=1)
                y = _cbr(n, prefix, 2, planes, 3, pad=1, relu=False)
            else:
                _cbr(n, prefix, 1, planes, 1)
                _cbr(n, prefix, 2, planes, 3, stride=stride, pad=1)  # stride on the 3x3 (ResNet v1.5)
                y = _cbr(n, prefix, 3, planes * 4, 1, relu=False)
            if stride != 1 or inplanes != planes * expansion:
                x = _downsample(n, prefix, planes * expansion, stride, x)
            n.add(prefix + ".add", y, x, act="relu")
            inplanes = planes * expansion
    n.global_avgpool("avgpool")
    n.flatten("flatten")
    n.fc("fc", 1000)
    return n


def resnet18():
    return _resnet("resnet18", "basic", [2, 2, 2, 2]), "torchvision models/resnet.py: resnet18 (BasicBlock x [2, 2, 2, 2])", [
        "conv + batchnorm + relu; residual add with relu (`add` with act: relu); downsample = 1x1",
        "conv + batchnorm on the shortcut. torchvision's one reused ReLU module gets one name per use.",
    ]


def resnet50():
    return _resnet("resnet50", "bottleneck", [3, 4, 6, 3]), "torchvision models/resnet.py: resnet50 (Bottleneck x [3, 4, 6, 3])", [
        "Bottleneck as in torchvision (ResNet v1.5: the stride is on the 3x3 conv2). conv + batchnorm",
        "+ relu; residual add with relu; downsample = 1x1 conv + batchnorm on the shortcut.",
    ]


# === MobileNetV2 (torchvision models/mobilenetv2.py, width_mult 1.0) ==========================
def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _conv_bn_relu6(n, prefix, out, kernel, stride=1, groups=1):
    """Conv2dNormActivation: {prefix}.0 conv (no bias), .1 batchnorm, .2 relu6."""
    n.conv(prefix + ".0", out, kernel, stride=stride, pad=(kernel - 1) // 2, groups=groups, bias=False)
    n.batchnorm(prefix + ".1")
    return n.act(prefix + ".2", "relu6")


def mobilenet_v2():
    n = Net("mobilenet_v2", (3, 224, 224))
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]  # t, c, n, s
    inp = _make_divisible(32)
    _conv_bn_relu6(n, "features.0", inp, 3, stride=2)
    fi = 1
    for t, c, count, s in settings:
        oup = _make_divisible(c)
        for i in range(count):
            stride = s if i == 0 else 1
            hidden = int(round(inp * t))
            p = "features.%d.conv" % fi
            x = n.prev
            res = stride == 1 and inp == oup
            n.comment("features.%d: InvertedResidual %d -> %d, expand %d, stride %d%s" % (
                fi, inp, oup, t, stride, ", residual" if res else ""))
            k = 0
            if t != 1:
                _conv_bn_relu6(n, "%s.%d" % (p, k), hidden, 1)  # pointwise expansion
                k += 1
            _conv_bn_relu6(n, "%s.%d" % (p, k), hidden, 3, stride=stride, groups=hidden)  # depthwise
            n.conv("%s.%d" % (p, k + 1), oup, 1, bias=False)  # pointwise linear projection
            y = n.batchnorm("%s.%d" % (p, k + 2))
            if res:
                n.add("features.%d.add" % fi, x, y)  # no activation after the add
            inp = oup
            fi += 1
    last = _make_divisible(1280)
    _conv_bn_relu6(n, "features.%d" % fi, last, 1)
    n.global_avgpool("avgpool")  # nn.functional.adaptive_avg_pool2d(x, (1, 1))
    n.flatten("flatten")
    n.dropout("classifier.0", 0.2)
    n.fc("classifier.1", 1000)
    return n, "torchvision models/mobilenetv2.py: mobilenet_v2 (width_mult 1.0)", [
        "Conv2dNormActivation = conv (bias false) + batchnorm + relu6; depthwise = conv with",
        "groups == channels; the inverted residual's add has no activation.",
    ]


# === SqueezeNet 1.0 (torchvision models/squeezenet.py) ========================================
def _fire(n, prefix, squeeze, e1, e3):
    s = n.conv(prefix + ".squeeze", squeeze, 1, act="relu")
    a = n.conv(prefix + ".expand1x1", e1, 1, act="relu", src=s)
    b = n.conv(prefix + ".expand3x3", e3, 3, pad=1, act="relu", src=s)
    return n.concat(prefix + ".cat", [a, b])


def squeezenet1_0():
    n = Net("squeezenet1_0", (3, 224, 224))
    n.conv("features.0", 96, 7, stride=2, act="relu")
    n.maxpool("features.2", 3, 2, ceil_mode=True)
    _fire(n, "features.3", 16, 64, 64)
    _fire(n, "features.4", 16, 64, 64)
    _fire(n, "features.5", 32, 128, 128)
    n.maxpool("features.6", 3, 2, ceil_mode=True)
    _fire(n, "features.7", 32, 128, 128)
    _fire(n, "features.8", 48, 192, 192)
    _fire(n, "features.9", 48, 192, 192)
    _fire(n, "features.10", 64, 256, 256)
    n.maxpool("features.11", 3, 2, ceil_mode=True)
    _fire(n, "features.12", 64, 256, 256)
    n.dropout("classifier.0", 0.5)
    n.conv("classifier.1", 1000, 1, act="relu")  # final_conv + classifier.2 ReLU
    n.global_avgpool("classifier.3")  # AdaptiveAvgPool2d((1, 1))
    n.flatten("flatten")
    return n, "torchvision models/squeezenet.py: squeezenet1_0", [
        "Fire = squeeze 1x1 + relu, expand1x1 + relu and expand3x3 (pad 1) + relu, concat. ReLUs",
        "are merged into their conv via `act`. Max pools are 3/2 with ceil_mode true.",
    ]


# === GoogLeNet (torchvision models/googlenet.py, aux_logits false) ============================
def _basic_conv(n, prefix, out, kernel, stride=1, pad=0, src=None):
    """BasicConv2d: conv (bias false) + batchnorm (eps 0.001) + relu."""
    n.conv(prefix + ".conv", out, kernel, stride=stride, pad=pad, bias=False, src=src)
    n.batchnorm(prefix + ".bn", eps=0.001)
    return n.act(prefix + ".relu", "relu")


def _inception(n, prefix, ch1, ch3r, ch3, ch5r, ch5, proj):
    x = n.prev
    n.comment("%s: Inception(%d, %d, %d, %d, %d, %d, %d)" % (
        prefix, n.shapes[x][0], ch1, ch3r, ch3, ch5r, ch5, proj))
    b1 = _basic_conv(n, prefix + ".branch1", ch1, 1, src=x)
    _basic_conv(n, prefix + ".branch2.0", ch3r, 1, src=x)
    b2 = _basic_conv(n, prefix + ".branch2.1", ch3, 3, pad=1)
    _basic_conv(n, prefix + ".branch3.0", ch5r, 1, src=x)
    b3 = _basic_conv(n, prefix + ".branch3.1", ch5, 3, pad=1)  # torchvision's known quirk: 3x3, not 5x5
    n.maxpool(prefix + ".branch4.0", 3, 1, pad=1, ceil_mode=True, src=x)
    b4 = _basic_conv(n, prefix + ".branch4.1", proj, 1)
    return n.concat(prefix + ".cat", [b1, b2, b3, b4])


def googlenet():
    n = Net("googlenet", (3, 224, 224))
    _basic_conv(n, "conv1", 64, 7, stride=2, pad=3)
    n.maxpool("maxpool1", 3, 2, ceil_mode=True)
    _basic_conv(n, "conv2", 64, 1)
    _basic_conv(n, "conv3", 192, 3, pad=1)
    n.maxpool("maxpool2", 3, 2, ceil_mode=True)
    _inception(n, "inception3a", 64, 96, 128, 16, 32, 32)
    _inception(n, "inception3b", 128, 128, 192, 32, 96, 64)
    n.maxpool("maxpool3", 3, 2, ceil_mode=True)
    _inception(n, "inception4a", 192, 96, 208, 16, 48, 64)
    _inception(n, "inception4b", 160, 112, 224, 24, 64, 64)
    _inception(n, "inception4c", 128, 128, 256, 24, 64, 64)
    _inception(n, "inception4d", 112, 144, 288, 32, 64, 64)
    _inception(n, "inception4e", 256, 160, 320, 32, 128, 128)
    n.maxpool("maxpool4", 2, 2, ceil_mode=True)
    _inception(n, "inception5a", 256, 160, 320, 32, 128, 128)
    _inception(n, "inception5b", 384, 192, 384, 48, 128, 128)
    n.global_avgpool("avgpool")
    n.flatten("flatten")
    n.dropout("dropout", 0.2)
    n.fc("fc", 1000)
    return n, "torchvision models/googlenet.py: googlenet (aux_logits false; transform_input is irrelevant here)", [
        "BasicConv2d = conv (bias false) + batchnorm (eps 0.001) + relu; inception branches concat;",
        "max pools with ceil_mode true. Branch 3 (\"ch5x5\") uses a 3x3 conv with pad 1, as torchvision",
        "does (a known deviation from the paper's 5x5). Branch 4: maxpool 3/1 pad 1 ceil_mode, 1x1 conv.",
    ]


NETWORKS = [vgg16, resnet18, resnet50, mobilenet_v2, squeezenet1_0, googlenet]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(root, "models"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    failed = False
    for fn in NETWORKS:
        net, source, notes = fn()
        pub_macs, pub_params = PUBLISHED[net.name]
        bad = [(what, got, want) for what, got, want in (("MACs", net.macs, pub_macs), ("params", net.params, pub_params))
               if want is not None and got != want]
        if bad:
            for what, got, want in bad:
                print("%s: %s %d != published %d" % (net.name, what, got, want), file=sys.stderr)
            failed = True
            continue
        c, h, w = net.shapes[net.prev]
        header = [
            "%s, generated by scripts/gen_zoo.py (do not edit by hand)." % net.name,
            "Source architecture: " + source + ".",
            "Input 3x224x224, batch 1. Expected totals: %s MACs (conv + fc multiply-accumulates), %s params"
            % ("{:,}".format(net.macs), "{:,}".format(net.params)),
            "(every weight and bias, BatchNorm gamma and beta included). %s"
            % ("Both match the published figures." if pub_macs is not None else
               "Params match the published figure; MACs are derived (no exact published count)."),
        ] + notes
        text = net.text(header)
        path = os.path.join(args.out, net.name + ".yaml")
        if args.check:
            old = open(path).read() if os.path.exists(path) else None
            if old != text:
                print("%s: out of date" % path, file=sys.stderr)
                failed = True
            continue
        with open(path, "w") as f:
            f.write(text)
        print("%-14s %16s MACs %13s params  -> %s (output %dx%dx%d)" % (
            net.name, "{:,}".format(net.macs), "{:,}".format(net.params), os.path.relpath(path), c, h, w))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
