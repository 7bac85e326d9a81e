"""What the gpu workers run, as plain libraries (no Django): the engine and the speech aligner it shares."""
