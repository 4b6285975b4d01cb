# llada-demo on CPU: the app serving the shipped tiny pair (assets/models) on port 7860.
# The Hugging Face Space does not use this file (it runs app.py with the gradio SDK, see the README
# front-matter); this image is for any Docker host. README: "Deploying: Hugging Face Space and Docker".
FROM python:3.11-slim

# Where torch comes from. The PyTorch CPU index serves torch==2.13.0+cpu, which pip prefers to PyPI's
# 2.13.0 (a local version sorts higher) and which is a fraction of the CUDA build's size. For a GPU
# host build with --build-arg TORCH_INDEX= (PyPI's default wheel, CUDA on x86-64) or a CUDA index.
# Empty means PyPI only: deploy/check_image_steps.sh runs the install line that way, because where
# download.pytorch.org cannot be reached pip retries it for every requirement (minutes) before
# falling back to PyPI.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

# MALLOC_ARENA_MAX=2: glibc's per-thread arenas otherwise let RSS creep up as Gradio's worker threads come
# and go (bench/load_test.py --apart: flat after two rounds with it, +6 MB a round without).
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=7860 GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_OFFLINE=1 HF_HOME=/home/user/.cache/huggingface \
    MALLOC_ARENA_MAX=2

# The Spaces convention: a non-root user with uid 1000. The Hugging Face cache folder exists and is
# theirs, so a volume mounted on it (`-v hf-cache:/home/user/.cache/huggingface`) is writable.
RUN useradd --create-home --uid 1000 user && install -d -o 1000 -g 1000 /home/user/.cache /home/user/.cache/huggingface
WORKDIR /home/user/app

# Requirements in their own layer, so that editing the code does not reinstall torch.
COPY requirements.txt .
RUN pip install ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} -r requirements.txt

COPY --chown=1000:1000 . .
USER 1000
EXPOSE 7860
# Gradio takes a few seconds to import and load the tiny pair; an 8B preset takes minutes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]
CMD ["python", "app.py"]
