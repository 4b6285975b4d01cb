# llada-demo: the app on the shipped tiny pair (CPU). A GPU image and the Space are issue "Real models".
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1

# The Spaces convention: a non-root user with uid 1000.
RUN useradd --create-home --uid 1000 user
WORKDIR /home/user/app

# Requirements in their own layer; the CPU build of torch keeps the image small.
COPY requirements.txt .
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY --chown=user:user . .
USER user
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/', timeout=4)"
CMD ["python", "app.py"]
