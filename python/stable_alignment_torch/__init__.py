"""The PyTorch trainer of stable-alignment (`train --backend torch`): reads the batch file the
TypeScript side prepared and trains; it never tokenizes. One dependency: torch >= 1.13."""
