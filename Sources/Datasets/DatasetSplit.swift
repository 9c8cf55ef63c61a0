/// Which split of a dataset a manifest reads: `dataset.split`.
///
/// `train` (the default, and all the original tool read) is the training split; `test` is the
/// official test split: `t10k-images-idx3-ubyte`/`t10k-labels-idx1-ubyte` for the MNIST family,
/// `test_batch.bin` for CIFAR-10, `test_32x32.mat` for SVHN. Both are preprocessed alike.
public enum DatasetSplit: String, CaseIterable, Sendable {
  case train, test
}
