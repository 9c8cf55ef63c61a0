"""PyTorch definitions of the ntkbatch models the peer benchmark uses (lenet, the ResNet family,
wrn-28-k), written from ../shared/spec/models.md: same module paths, so the state_dict keys,
shapes and order are the original tool's (checked by check_models.py against Tests/Fixtures)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or inp != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or inp != 4 * planes:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, 4 * planes, 1, stride, bias=False), nn.BatchNorm2d(4 * planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, block, counts, w=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        inp = w
        for i, (count, stride) in enumerate(zip(counts, [1, 2, 2, 2])):
            planes = w * 2 ** i
            blocks = []
            for b in range(count):
                blocks.append(block(inp, planes, stride if b == 0 else 1))
                inp = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(inp, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.linear(F.avg_pool2d(x, 4).flatten(1))


class WideBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inp)
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=True)
        self.changes = inp != out
        if self.changes:
            self.shortcut = nn.Sequential()
            self.shortcut.add_module("conv", nn.Conv2d(inp, out, 1, stride, bias=False))

    def forward(self, x):
        if self.changes:
            x = F.relu(self.bn1(x))
            y = self.conv1(x)
        else:
            y = self.conv1(F.relu(self.bn1(x)))
        y = self.conv2(F.relu(self.bn2(y)))
        return y + (self.shortcut(x) if self.changes else x)


class WideResNet(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        inp = 16
        for s, (channels, stride) in enumerate([(16 * k, 1), (32 * k, 2), (64 * k, 2)]):
            stage = nn.Sequential()
            for b in range(1, 5):
                stage.add_module(f"block{b}", WideBlock(inp, channels, stride if b == 1 else 1))
                inp = channels
            setattr(self, f"stage{s + 1}", stage)
        self.bn = nn.BatchNorm2d(inp)
        self.fc = nn.Linear(inp, 10)

    def forward(self, x):
        x = self.stage3(self.stage2(self.stage1(self.conv(x))))
        x = F.relu(self.bn(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def make(name, width=0):
    """The model `name` (ntkbatch's ModelZoo name) at ResNet width `width` (0: 64)."""
    w = width or 64
    if name == "lenet":
        return LeNet()
    resnets = {"resnet9": (BasicBlock, [1, 1, 1, 1]), "resnet18": (BasicBlock, [2, 2, 2, 2]),
               "resnet34": (BasicBlock, [3, 4, 6, 3]), "resnet50": (Bottleneck, [3, 4, 6, 3])}
    if name in resnets:
        block, counts = resnets[name]
        return ResNet(block, counts, w)
    if name.startswith("wrn-28-"):
        return WideResNet(int(name.split("-")[2]))
    raise SystemExit(f"peer: no PyTorch definition for model {name}")
