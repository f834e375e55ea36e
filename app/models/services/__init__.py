"""What users make, one service per noun: validation and one transaction per call over the workspace store."""
