"""The model files pixmill knows: where each lies under the models directory, its sha256, who needs it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelFile:
    name: str
    path: str  # relative to the models directory
    sha256: str
    used_by: tuple[str, ...]  # operation names
    description: str


_FILES = [
    ModelFile(
        "dncnn_color_blind",
        "dncnn/dncnn_color_blind.pth",
        "29089016dfd316615355442403f9868fdf612d86ee4bf88e6381095b81ec1bfd",
        ("denoise",),
        "CDnCNN-B: colour, blind (sigma 0-55), PyTorch state_dict",
    ),
    ModelFile(
        "dncnn_gray_blind",
        "dncnn/dncnn_gray_blind.pth",
        "c6da7e1a768c073fa1a8fdd72c503751522cb64e5ea762bf22f8589734b11bf1",
        ("denoise",),
        "DnCNN-B: grayscale, blind, PyTorch state_dict",
    ),
    ModelFile(
        "dncnn_15",
        "dncnn/dncnn_15.pth",
        "4412257d8a3c04bc577766222c6ede6226ceae67eb78c9221d000793c22ce340",
        ("denoise",),
        "DnCNN-S: grayscale, sigma 15",
    ),
    ModelFile(
        "dncnn_25",
        "dncnn/dncnn_25.pth",
        "61cf23ef13da11f5cbdcdd7fded0653492bd830c0a643d9aa2eee62b15348ce0",
        ("denoise",),
        "DnCNN-S: grayscale, sigma 25",
    ),
    ModelFile(
        "dncnn_50",
        "dncnn/dncnn_50.pth",
        "37a740e1daa4fdd5c375b8bd3d4260cb7cbb065ee9a2ec2a870c861d82bd5f65",
        ("denoise",),
        "DnCNN-S: grayscale, sigma 50",
    ),
    ModelFile(
        "yunet",
        "yunet/yunet_s_640_640.onnx",
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
        ("detect", "blur_faces", "crop", "resize"),
        "YuNet face detector (OpenCV FaceDetectorYN)",
    ),
    ModelFile(
        "yolox_nano",
        "yolox/yolox_nano.onnx",
        "c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d",
        ("detect", "crop", "resize"),
        "YOLOX-nano, COCO 80 classes (onnxruntime)",
    ),
    ModelFile(
        "espcn_x2",
        "sr/ESPCN_x2.pb",
        "59f77351e1d7c0057bf6fe088b4a8a07e42c468c8c8aebb674a6b4ea1823221d",
        ("upscale",),
        "ESPCN x2 super-resolution",
    ),
    ModelFile(
        "espcn_x3",
        "sr/ESPCN_x3.pb",
        "0e667db7a431d14c32568ed79bf21701a64df8b1d162e48ca1f8800affe2c2b3",
        ("upscale",),
        "ESPCN x3 super-resolution",
    ),
    ModelFile(
        "espcn_x4",
        "sr/ESPCN_x4.pb",
        "e403f06309229cf36009cd8fb0da032ba7643fae9f15cf94fe562e8edf8fef47",
        ("upscale",),
        "ESPCN x4 super-resolution",
    ),
    ModelFile(
        "fsrcnn_x2",
        "sr/FSRCNN_x2.pb",
        "366b33f0084c7b3f2bf6724f0a2c77bca94fcec9d7b6d72389d330073b380d5c",
        ("upscale",),
        "FSRCNN x2 super-resolution",
    ),
    ModelFile(
        "fsrcnn_x3",
        "sr/FSRCNN_x3.pb",
        "efd38655a815908c6c8954db6052f128e76a735f1de657894c477d0dc0b64481",
        ("upscale",),
        "FSRCNN x3 super-resolution",
    ),
    ModelFile(
        "fsrcnn_x4",
        "sr/FSRCNN_x4.pb",
        "5c68d18db561aed8ead4ffedf1b897ea615baaf60ebf6c35f8e641f8fa4a21bf",
        ("upscale",),
        "FSRCNN x4 super-resolution",
    ),
]

MANIFEST: dict[str, ModelFile] = {m.name: m for m in _FILES}
