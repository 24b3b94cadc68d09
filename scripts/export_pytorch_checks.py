#!/usr/bin/python3
"""PyTorch models exported to ONNX test-case folders, for `fusesim onnx-test` (issue 10's PyTorch
checks): each case is OUTDIR/NAME/model.onnx plus test_data_set_0/{input_0,output_0}.pb, the
output being PyTorch's own (torch.onnx.export, opset 13, fp32, eval mode).

Cases:
  inception_v3     torchvision's Inception v3 (no aux head) on 1x3x299x299
  resnet18_batch4  torchvision's ResNet-18 on a batch of 4 (ONNX dim 0 = 4)
  lstm2            a two-layer nn.LSTM (40 features, 64 cells, 12 steps, batch 1) with a linear
                   head on the last step's output (10 classes)
  gru2, rnn2       the same with nn.GRU (ONNX GRU, linear_before_reset=1) and nn.RNN (tanh)
  bilstm2, bigru2  the same, bidirectional (ONNX direction=bidirectional; the second layer reads
                   both directions' h_t, [steps, 1, 128]), as in Graves et al. 2014
  ssd300_vgg16     torchvision's SSD300 (VGG-16 backbone with its L2Norm, extra layers, the box
                   and class heads) on 1x3x300x300, up to the raw outputs: box regressions
                   [1, 8732, 4] and class logits [1, 8732, 91] (anchors, decoding and NMS are the
                   host's)
  fcn_resnet50     torchvision's FCN (ResNet-50 backbone with dilated layer3 and layer4, output
                   stride 8; the FCN head; bilinear upsampling to the input size) on 1x3x224x224:
                   per-pixel logits [1, 21, 224, 224]
  resnet18, resnet50, mobilenet_v2, squeezenet1_0, googlenet, vgg16, alexnet
                   the zoo's torchvision classifiers on 1x3x224x224 (googlenet without its aux
                   heads), for checking fusion and pipelining against PyTorch
                   (`fusesim onnx-test --fusion optimal --pipeline full`)
  deeplabv3_resnet50  torchvision's DeepLabV3 (the same dilated backbone; ASPP with rates 12, 24, 36
                   and image pooling; bilinear upsampling) on 1x3x224x224

Weights are random (seeded; no network access is assumed). Random init leaves a deep network's
activations growing layer by layer (torchvision's conv init is not variance-preserving), which
would make an fp32 comparison at rtol 1e-3 a test of cancellation, so the batch-norm running
statistics are first calibrated on random inputs (a forward pass in train mode with cumulative
averages): activations then keep unit scale, as with trained weights.

Needs Debian's python3-torchvision (scripts/test.sh installs it); run with /usr/bin/python3.
Exit 77 when torch is not importable (ctest's SKIP_RETURN_CODE).
Usage: /usr/bin/python3 scripts/export_pytorch_checks.py OUTDIR [NAME...]
"""
import os
import sys
import warnings

try:
    import torch
    import torchvision
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)

SEED = 20261202


class Lstm2(torch.nn.Module):
    def __init__(self, cell=torch.nn.LSTM, bidirectional=False):
        super().__init__()
        self.lstm = cell(input_size=40, hidden_size=64, num_layers=2, bidirectional=bidirectional)
        self.head = torch.nn.Linear(128 if bidirectional else 64, 10)

    def forward(self, x):  # x: [steps, batch 1, 40]
        y, _ = self.lstm(x)
        return self.head(y[-1])


class SsdRaw(torch.nn.Module):
    """SSD300-VGG16's network: backbone features -> heads, without the transform and postprocess."""

    def __init__(self):
        super().__init__()
        m = torchvision.models.detection.ssd300_vgg16(weights=None, weights_backbone=None)
        self.backbone, self.head = m.backbone, m.head

    def forward(self, x):
        out = self.head(list(self.backbone(x).values()))
        return out["bbox_regression"], out["cls_logits"]


class Segmenter(torch.nn.Module):
    """A torchvision segmentation model's main output (no auxiliary head)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def calibrate_bn(model, shape, batches=4):
    """Sets every BatchNorm's running statistics to those of random inputs."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(*shape))
    model.eval()


ZOO = ("resnet18", "resnet50", "mobilenet_v2", "squeezenet1_0", "googlenet", "vgg16", "alexnet")


def build(name):
    torch.manual_seed(SEED)
    if name == "inception_v3":
        m = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
        calibrate_bn(m, (8, 3, 299, 299))
        return m.eval(), torch.randn(1, 3, 299, 299)
    if name == "resnet18_batch4":
        m = torchvision.models.resnet18(weights=None)
        calibrate_bn(m, (8, 3, 224, 224))
        return m.eval(), torch.randn(4, 3, 224, 224)
    if name in ("lstm2", "gru2", "rnn2"):
        cell = {"lstm2": torch.nn.LSTM, "gru2": torch.nn.GRU, "rnn2": torch.nn.RNN}[name]
        return Lstm2(cell).eval(), torch.randn(12, 1, 40)
    if name in ("bilstm2", "bigru2"):
        cell = {"bilstm2": torch.nn.LSTM, "bigru2": torch.nn.GRU}[name]
        return Lstm2(cell, bidirectional=True).eval(), torch.randn(12, 1, 40)
    if name in ZOO:
        kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
        m = getattr(torchvision.models, name)(weights=None, **kwargs)
        calibrate_bn(m, (8, 3, 224, 224))
        return m.eval(), torch.randn(1, 3, 224, 224)
    if name == "ssd300_vgg16":
        return SsdRaw().eval(), torch.randn(1, 3, 300, 300)
    if name in ("fcn_resnet50", "deeplabv3_resnet50"):
        ctor = getattr(torchvision.models.segmentation, name)
        m = Segmenter(ctor(weights=None, weights_backbone=None, aux_loss=False, num_classes=21))
        calibrate_bn(m, (2, 3, 224, 224))
        return m.eval(), torch.randn(1, 3, 224, 224)
    sys.exit(f"unknown case {name}")


def write_pb(array, name, path):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def export(name, out):
    model, x = build(name)
    case = os.path.join(out, name)
    data = os.path.join(case, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    with torch.no_grad():
        ys = model(x)
    ys = list(ys) if isinstance(ys, tuple) else [ys]
    names = ["output"] if len(ys) == 1 else [f"output_{k}" for k in range(len(ys))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, os.path.join(case, "model.onnx"), opset_version=13, input_names=["input"],
                          output_names=names, do_constant_folding=True)
    write_pb(x.numpy(), "input", os.path.join(data, "input_0.pb"))
    for k, (y, yname) in enumerate(zip(ys, names)):
        write_pb(y.numpy(), yname, os.path.join(data, f"output_{k}.pb"))
    shapes = ", ".join(str(tuple(y.shape)) for y in ys)
    print(f"{name}: input {tuple(x.shape)}, outputs {shapes}, |y| max {max(float(y.abs().max()) for y in ys):.3g}",
          flush=True)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for name in sys.argv[2:] or ["inception_v3", "resnet18_batch4", "lstm2"]:
        export(name, sys.argv[1])


if __name__ == "__main__":
    main()
