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
    source: str  # where a deployment gets the file (pixmill never downloads it)


_DNCNN = (
    "the DnCNN authors' MatConvNet weights (cszn/DnCNN on GitHub, model/) converted to a PyTorch state_dict "
    "with batch norm folded into the convolutions"
)
_YUNET = "yunet_s_640_640.onnx of ShiqiYu/libfacedetection.train (Apache-2.0; also in opencv/opencv_zoo)"
_YOLOX = "yolox_nano.onnx of opencv/opencv_zoo, models/object_detection_yolox (Megvii YOLOX, Apache-2.0)"
_FSRCNN = "the ONNX export (opset 17) of the FSRCNN graph of Saafke/FSRCNN_Tensorflow (Apache-2.0)"
_ESPCN = "the ONNX export (opset 17) of the ESPCN graph of fannymonori/TF-ESPCN (Apache-2.0)"


_FILES = [
    ModelFile(
        "dncnn_color_blind",
        "dncnn/dncnn_color_blind.pth",
        "29089016dfd316615355442403f9868fdf612d86ee4bf88e6381095b81ec1bfd",
        ("denoise",),
        "CDnCNN-B: colour, blind (sigma 0-55), PyTorch state_dict",
        _DNCNN,
    ),
    ModelFile(
        "dncnn_gray_blind",
        "dncnn/dncnn_gray_blind.pth",
        "c6da7e1a768c073fa1a8fdd72c503751522cb64e5ea762bf22f8589734b11bf1",
        ("denoise",),
        "DnCNN-B: grayscale, blind, PyTorch state_dict",
        _DNCNN,
    ),
    ModelFile(
        "dncnn_15",
        "dncnn/dncnn_15.pth",
        "4412257d8a3c04bc577766222c6ede6226ceae67eb78c9221d000793c22ce340",
        ("denoise",),
        "DnCNN-S: grayscale, sigma 15",
        _DNCNN,
    ),
    ModelFile(
        "dncnn_25",
        "dncnn/dncnn_25.pth",
        "61cf23ef13da11f5cbdcdd7fded0653492bd830c0a643d9aa2eee62b15348ce0",
        ("denoise",),
        "DnCNN-S: grayscale, sigma 25",
        _DNCNN,
    ),
    ModelFile(
        "dncnn_50",
        "dncnn/dncnn_50.pth",
        "37a740e1daa4fdd5c375b8bd3d4260cb7cbb065ee9a2ec2a870c861d82bd5f65",
        ("denoise",),
        "DnCNN-S: grayscale, sigma 50",
        _DNCNN,
    ),
    ModelFile(
        "yunet",
        "yunet/yunet_s_640_640.onnx",
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
        ("detect", "blur_faces", "crop", "resize"),
        "YuNet face detector (OpenCV FaceDetectorYN)",
        _YUNET,
    ),
    ModelFile(
        "yolox_nano",
        "yolox/yolox_nano.onnx",
        "c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d",
        ("detect", "crop", "resize"),
        "YOLOX-nano, COCO 80 classes (onnxruntime)",
        _YOLOX,
    ),
    ModelFile(
        "espcn_x2",
        "sr/ESPCN_x2.onnx",
        "292885dfd98c2a61c4c684b33b7fc212706ad1714a51c17087427abae03f6b3b",
        ("upscale",),
        "ESPCN x2 super-resolution (ONNX, onnxruntime)",
        _ESPCN,
    ),
    ModelFile(
        "espcn_x3",
        "sr/ESPCN_x3.onnx",
        "56aa8d198dc356b28bea88c48696391a69867a8d2dce3f7eda9308bffeae363b",
        ("upscale",),
        "ESPCN x3 super-resolution (ONNX, onnxruntime)",
        _ESPCN,
    ),
    ModelFile(
        "espcn_x4",
        "sr/ESPCN_x4.onnx",
        "39b705ff990b558d17c80236a9a05df007eb4fdab5d9357b64029ef71279d822",
        ("upscale",),
        "ESPCN x4 super-resolution (ONNX, onnxruntime)",
        _ESPCN,
    ),
    ModelFile(
        "fsrcnn_x2",
        "sr/FSRCNN_x2.onnx",
        "5a3bef8af0efa5f2f9d683d52a7157ed757cafae90594233dee9066508f6fd85",
        ("upscale",),
        "FSRCNN x2 super-resolution (ONNX, onnxruntime)",
        _FSRCNN,
    ),
    ModelFile(
        "fsrcnn_x3",
        "sr/FSRCNN_x3.onnx",
        "27eebed300f3ebb6279aedc88d1026fcc21deebce1b8802a11d1e12418ae6bcb",
        ("upscale",),
        "FSRCNN x3 super-resolution (ONNX, onnxruntime)",
        _FSRCNN,
    ),
    ModelFile(
        "fsrcnn_x4",
        "sr/FSRCNN_x4.onnx",
        "92da7bde4712b5fad8938f829fdf03a34c1ed1ec4bb44634623533f9b8484f57",
        ("upscale",),
        "FSRCNN x4 super-resolution (ONNX, onnxruntime)",
        _FSRCNN,
    ),
]

MANIFEST: dict[str, ModelFile] = {m.name: m for m in _FILES}
