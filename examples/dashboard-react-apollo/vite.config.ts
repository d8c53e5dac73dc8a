import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // Served from any path (the example's test serves dist/ under its own prefix).
  base: './',
});
