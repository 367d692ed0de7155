"""Edit-friendly DDPM inversion (Huberman-Spiegelglas et al. 2023) on a DDPM schedule.

Every x_t of the schedule is sampled *independently* from x_0; each step's noise map z_t is what
makes the DDPM step from x_t land exactly on the sampled x_{t-1}:

    eps = UNet(x_t, t);  x0_hat = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t)
    s_t^2 = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
    mu_t = sqrt(a_prev) x0_hat + sqrt(1 - a_prev - s_t^2) eps;   z_t = (x_{t-1} - mu_t) / s_t

so denoising with the stored z_t (x_{t-1} = mu_t + s_t z_t) reproduces the trajectory and x_0.
Only the steps from a start timestep down to 0 are computed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import Tensor


@dataclass
class DDPMSchedule:
    """The sampling grid (descending timesteps) and cumulative alphas of a diffusers scheduler."""

    alphas_cumprod: Tensor
    timesteps: list[int]
    final_alpha_cumprod: float

    @classmethod
    def from_scheduler(cls, scheduler, num_inference_steps: int) -> 'DDPMSchedule':
        scheduler.set_timesteps(num_inference_steps)
        config = scheduler.config
        final = 1.0 if config.get('set_alpha_to_one', False) else float(scheduler.alphas_cumprod[0])
        return cls(scheduler.alphas_cumprod.double().cpu(), [int(t) for t in scheduler.timesteps], final)

    @property
    def step_size(self) -> int:
        return self.timesteps[0] - self.timesteps[1] if len(self.timesteps) > 1 else len(self.alphas_cumprod)

    def prev(self, t: int) -> int:
        return t - self.step_size

    def abar(self, t: int) -> float:
        return float(self.alphas_cumprod[t]) if t >= 0 else self.final_alpha_cumprod

    def steps_from(self, t_start: int) -> list[int]:
        """The grid timesteps t_start, ..., down to the last one; t_start must be on the grid."""
        if t_start not in self.timesteps:
            raise ValueError(f'timestep {t_start} is not on the {len(self.timesteps)}-step grid '
                             f'({self.timesteps[0]}, {self.timesteps[1]}, ..., {self.timesteps[-1]})')
        return self.timesteps[self.timesteps.index(t_start):]

    def noise_to(self, x0: Tensor, t: int, noise: Tensor) -> Tensor:
        a = self.abar(t)
        return a ** 0.5 * x0 + (1 - a) ** 0.5 * noise

    def posterior(self, x_t: Tensor, eps: Tensor, t: int) -> tuple[Tensor, float]:
        """mu_t and sigma_t of the DDPM step from x_t (eta = 1, no clipping)."""
        a_t, a_prev = self.abar(t), self.abar(self.prev(t))
        x0_hat = (x_t - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        var = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
        mu = a_prev ** 0.5 * x0_hat + max(1 - a_prev - var, 0.0) ** 0.5 * eps
        return mu, var ** 0.5


@dataclass
class Inversion:
    """The clean latent x_0, the sampled latents x_t and the noise maps z_t of an inverted image."""

    clean: Tensor
    latents: dict[int, Tensor]
    noise_maps: dict[int, Tensor]


def sample_latents(x0: Tensor, schedule: DDPMSchedule, steps: list[int],
                   generator: Optional[torch.Generator] = None) -> dict[int, Tensor]:
    """x_t for each of ``steps``, each sampled independently from ``x0``, drawn in the order of ``steps``
    (so that callers with equally seeded generators get the same x_t)."""
    return {t: schedule.noise_to(x0, t, torch.randn(x0.shape, generator=generator).to(x0)) for t in steps}


def invert(eps_fn: Callable[[Tensor, int], Tensor], x0: Tensor, schedule: DDPMSchedule, t_start: int,
           generator: Optional[torch.Generator] = None, zero_last_noise: bool = False,
           latents: Optional[dict[int, Tensor]] = None) -> Inversion:
    """Edit-friendly inversion of ``x0`` from ``t_start`` down to 0: one ``eps_fn(x_t, t)`` call per step.

    ``latents``: the x_t of the steps, already sampled (:func:`sample_latents`); drawn from ``generator``
    when None. ``zero_last_noise`` zeroes z of the final step as the official code does; reconstruction is
    then exact only up to x_1.
    """
    steps = schedule.steps_from(t_start)
    if latents is None:
        latents = sample_latents(x0, schedule, steps, generator)
    noise_maps = {}
    for t in steps:
        prev = schedule.prev(t)
        target = latents[prev] if prev in latents else x0
        mu, sigma = schedule.posterior(latents[t], eps_fn(latents[t], t).to(x0), t)
        noise_maps[t] = (target - mu) / sigma
    if zero_last_noise:
        noise_maps[steps[-1]] = torch.zeros_like(noise_maps[steps[-1]])
    return Inversion(x0, latents, noise_maps)


def denoise_step(schedule: DDPMSchedule, x_t: Tensor, eps: Tensor, t: int, noise_map: Tensor) -> Tensor:
    """x_{t-1} = mu_t(x_t) + sigma_t z_t."""
    mu, sigma = schedule.posterior(x_t, eps.to(x_t), t)
    return mu + sigma * noise_map
