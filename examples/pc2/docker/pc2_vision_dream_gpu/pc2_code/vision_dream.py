"""GPU vision + dream generation: detectron2 segmentation, diffusers image generation."""
import cv2
import torch
import torchvision
from detectron2.config import get_cfg
from detectron2.engine import DefaultPredictor
from diffusers import StableDiffusionPipeline
from transformers import CLIPTokenizer

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def segmenter(config_path: str) -> DefaultPredictor:
    cfg = get_cfg()
    cfg.merge_from_file(config_path)
    cfg.MODEL.DEVICE = DEVICE
    return DefaultPredictor(cfg)


def dreamer(model_id: str = "runwayml/stable-diffusion-v1-5") -> StableDiffusionPipeline:
    tokenizer = CLIPTokenizer.from_pretrained(model_id, subfolder="tokenizer")
    return StableDiffusionPipeline.from_pretrained(model_id, tokenizer=tokenizer).to(DEVICE)


def load_frame(path: str) -> torch.Tensor:
    frame = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
    return torchvision.transforms.functional.to_tensor(frame)
