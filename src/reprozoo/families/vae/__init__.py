"""Variational autoencoder on MNIST: the 784-400-20 network of pytorch/examples `vae`.

Source: the seed article 004 and Kingma & Welling 2014, "Auto-Encoding Variational Bayes",
as implemented in pytorch/examples `vae` (anchor there: a test loss of about 104 after 10
epochs on full MNIST). Loss per image = summed BCE + KL(q(z|x) ‖ N(0, I)) on [0,1] grey
levels. The test NLL is also estimated by importance weighting (Burda et al. 2016, the
IWAE bound with k samples). A second, 2-d latent model is trained in the same stage for
the latent scatter figure; both are stored in one checkpoint.

model.py: the network and its loss; train.py: Adam on minibatches (bf16 autocast on CUDA);
evaluate.py: test loss, IWAE NLL, reconstruction / prior-sample / latent-scatter figures.

Results: reports/README.md, row vae (`dvc repro evaluate@vae`).
"""

from .config import Config

__all__ = ["Config"]
