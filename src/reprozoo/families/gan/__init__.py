"""GANs on MNIST: the seed article's MLP GAN (`gan_mlp`) and a DCGAN (`gan_dcgan`).

Source: the seed article 004 (an MLP GAN with the Goodfellow et al. 2014 objective and the
non-saturating G loss, trained with `d_steps` = 20 D steps per G step, which it observes
collapsing onto mostly 7, 9 and 1; the ratio is a param here) and Radford et al. 2016
(DCGAN, scaled to 28×28). model.py holds the networks, train.py the alternating updates
and the remedies for mode collapse, evaluate.py the scores.

Quality is measured in the feature space of our own MNIST CNN classifier (family `cnn`,
whose model folder models/cnn is this family's `needs` input; its 128-d penultimate
layer): FID of `n_eval` samples against the test set, and class coverage = the
classifier's label histogram over the samples (target: no class below 5 %) with its
entropy in bits (log2 10 is uniform).

Results: reports/README.md, rows gan_mlp and gan_dcgan (`dvc repro evaluate@gan_mlp
evaluate@gan_dcgan`). Class coverage is the hard target on 4,500 training images and a few
thousand G steps: the smallest class share swings between epochs and with the rounding of
the run (the same MLP recipe met the target with one CPU thread and missed it with two),
so `cpu_threads` pins the count.

`python benchmarks/gan_variants.py` trains the default recipes and standard remedies,
scoring FID and coverage every 10 epochs into reports/bench/gan_variants.json (the numbers
are there). What it showed: with transposed convolutions none of PacGAN packing (`pack`),
DiffAugment (`augment`) or a hinge loss with a spectrally normalized D (`loss`,
`spectral_norm`) lifted the DCGAN's 1s to 5 %; on the MLP GAN each one made coverage
worse. Resize upsampling (`upsample: resize`) improved FID and the 1s but left the 4s
short; a minibatch standard-deviation feature in D (`mbstd_group`, Karras et al. 2018)
moved them closer. What brought every class to about 5 % was the R1 penalty on a
BatchNorm-free D (`r1_gamma`, `d_batchnorm: false`; Mescheder et al. 2018), with FID still
falling as epochs go on. Averaging G's weights (`ema`) lags too far behind in runs this
short.
"""

from .config import Config

__all__ = ["Config"]
